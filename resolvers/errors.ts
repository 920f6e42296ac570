// Expected errors: each carries `extensions.code`, survives Yoga's error masking, and tells the
// client what to change. Anything else thrown by a resolver is masked as "Unexpected error.".
import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'QUERY_TOO_DEEP'
  | 'QUERY_TOO_COMPLEX'
  | 'TOO_MANY_ALIASES'
  | 'TOO_MANY_TOKENS'
  | 'SUBSCRIPTION_LAGGED';

export function codedError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export const badInput = (message: string): GraphQLError => codedError('BAD_USER_INPUT', message);
export const notFound = (message: string): GraphQLError => codedError('NOT_FOUND', message);
