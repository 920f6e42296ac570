// Errors of the embedding providers (codes in errors/codes.ts).
import { CodedError } from '../../errors/index.ts';

export type EmbedderErrorCode =
  /** The provider could not be reached, or refused, after the retries. */
  | 'EMBEDDING_FAILED'
  /** The provider answered with something that is not the embeddings asked for. */
  | 'EMBEDDING_BAD_RESPONSE'
  | 'INVALID_OPTIONS';

export class EmbedderError extends CodedError<EmbedderErrorCode> {
  override name = 'EmbedderError';
}
