// Errors of the embedding providers (codes in errors/codes.ts).
import { CodedError } from '../../errors/index.ts';

export type EmbedderErrorCode =
  /** The provider could not be reached, or refused, after the retries. */
  | 'EMBEDDING_FAILED'
  /** The provider answered with something that is not the embeddings asked for. */
  | 'EMBEDDING_BAD_RESPONSE'
  /** The onnx provider's model or tokenizer file cannot be read. */
  | 'EMBEDDING_MODEL_NOT_FOUND'
  /** The model or tokenizer file is not one the onnx provider can use. */
  | 'EMBEDDING_MODEL_INVALID'
  /** The model's vectors do not have the configured number of dimensions. */
  | 'EMBEDDING_DIMENSION_MISMATCH'
  /** onnxruntime-node (an optional dependency) is not installed. */
  | 'EMBEDDING_RUNTIME_MISSING'
  | 'INVALID_OPTIONS';

export class EmbedderError extends CodedError<EmbedderErrorCode> {
  override name = 'EmbedderError';
}
