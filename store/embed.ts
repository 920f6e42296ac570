// The body embedder is computed where bodies are parsed (indexer/embed.ts, in the extraction
// workers); queries embed their text with the same function.
export { EMBEDDING_DIMS, EMBEDDED_KINDS_EXCLUDED, cosine, embed, fromStoredEmbedding, subTokens, toStoredEmbedding } from '../indexer/embed.ts';
