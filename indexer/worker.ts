// Piscina worker: extracts one file per task. Receives the blob bytes (transferred, not copied) and
// returns plain data; syntax trees never leave the worker and are freed before the task returns.
import { EmbeddingCache, embedBodies } from './embed.ts';
import { ParseTimeoutError, extract } from './extract.ts';
import type { FileExtraction, LanguageId } from './types.ts';

export interface ExtractTask {
  language: LanguageId;
  content: Uint8Array;
  timeoutMs: number;
  /** Also embed the entity bodies (indexer/embed.ts), for the history store. @default false */
  embedBodies?: boolean;
}

export type ExtractTaskResult =
  | { ok: true; result: FileExtraction; bodies?: Array<[string, Uint8Array]> }
  | { ok: false; reason: 'parse_timeout' | 'extract_error'; detail: string };

/** This thread's embeddings of recent bodies (a few MB at most). */
const embeddings = new EmbeddingCache();

export default async function extractTask(task: ExtractTask): Promise<ExtractTaskResult> {
  try {
    const result = await extract(task.language, task.content, { timeoutMs: task.timeoutMs });
    return task.embedBodies ? { ok: true, result, bodies: embedBodies(result.entities, task.content, embeddings) } : { ok: true, result };
  } catch (err) {
    if (err instanceof ParseTimeoutError) return { ok: false, reason: 'parse_timeout', detail: err.message };
    return { ok: false, reason: 'extract_error', detail: err instanceof Error ? err.message : String(err) };
  }
}
