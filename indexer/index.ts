// Public surface of the indexer: git access, extraction of files into entities and references.
export { Indexer, DEFAULT_EXCLUDES, Summarizer, summarize } from './indexer.ts';
export type { IndexerOptions, FileToIndex, ExtractOutcome, ExtractFilesOptions, ExtractSummary, Classification } from './indexer.ts';
export { extract, ParseTimeoutError } from './extract.ts';
export { detectLanguage } from './languages/index.ts';
export * from './types.ts';
