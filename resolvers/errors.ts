// Expected errors: each carries `extensions.code`, survives Yoga's error masking, and tells the
// client what to change. Anything else thrown by a resolver is masked as "Unexpected error.".
// Errors thrown below the resolvers (a StoreError, a GitError) are coded too: `toGraphQLError` maps
// their code through errors/codes.ts at the boundary (Yoga's maskError hook).
import { GraphQLError } from 'graphql';
import { CodedError, graphqlCodeOf, type GraphQLCode } from '../errors/index.ts';

export type ErrorCode = GraphQLCode;

export function codedError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export const badInput = (message: string): GraphQLError => codedError('BAD_USER_INPUT', message);
export const notFound = (message: string): GraphQLError => codedError('NOT_FOUND', message);

/**
 * The GraphQL error a client sees for `error` (thrown by a resolver, or wrapped by graphql-js with
 * its path): a GraphQLError is kept; a CodedError whose code has a GraphQL code in errors/codes.ts
 * becomes that code with its message; null for anything else (the caller masks it).
 */
export function toGraphQLError(error: unknown): GraphQLError | null {
  const original = error instanceof GraphQLError ? error.originalError ?? error : error;
  if (original instanceof GraphQLError) return error as GraphQLError;
  if (!(original instanceof CodedError)) return null;
  const code = graphqlCodeOf(original);
  if (code === null) return null;
  const located = error instanceof GraphQLError ? error : undefined;
  return new GraphQLError(original.message, {
    nodes: located?.nodes ?? null, source: located?.source ?? null, positions: located?.positions ?? null, path: located?.path ?? null,
    originalError: original, extensions: { code },
  });
}
