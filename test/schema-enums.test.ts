// Schema drift (issue #8 item 9): every enum of schema.graphql equals the code's constant, so a
// value added in the code (e.g. the `extract_error` skip reason) cannot be missing from the schema.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphQLEnumType, buildSchema } from 'graphql';
import { ENTITY_KINDS, SKIP_REASONS } from '../indexer/types.ts';
import { CALL_CONFIDENCES, CHANGE_KINDS, UNRESOLVED_REASONS } from '../resolvers/context.ts';
import { typeDefs } from '../schema/index.ts';
import { EDGE_KINDS, SEARCH_MODES } from '../store/index.ts';
import type { MatchField } from '../store/search/index.ts';

/** MatchField is a type only: this list is checked complete at compile time below. */
const MATCH_FIELDS = ['name', 'qualifiedName', 'signature', 'doc', 'body', 'embedding'] as const satisfies readonly MatchField[];
const matchFieldsComplete: [Exclude<MatchField, (typeof MATCH_FIELDS)[number]>] extends [never] ? true : false = true;

const CONSTANTS: Record<string, readonly string[]> = {
  EntityKind: ENTITY_KINDS,
  SkipReason: SKIP_REASONS,
  ChangeKind: CHANGE_KINDS,
  CallConfidence: CALL_CONFIDENCES,
  UnresolvedReason: UNRESOLVED_REASONS,
  // GraphQL convention: upper-case enum values; the store's modes are lower-case.
  SearchMode: SEARCH_MODES.map((m) => m.toUpperCase()),
  EdgeKind: EDGE_KINDS,
  MatchField: matchFieldsComplete ? MATCH_FIELDS : [],
};

test('every schema enum equals the constant of the code it mirrors (extract_error was missing from SkipReason)', () => {
  const schema = buildSchema(typeDefs);
  const enums = Object.values(schema.getTypeMap()).filter((t): t is GraphQLEnumType => t instanceof GraphQLEnumType && !t.name.startsWith('__'));
  assert.ok(enums.length >= 3);
  for (const e of enums) {
    const constant = CONSTANTS[e.name];
    assert.ok(constant, `schema enum ${e.name} has no code constant: add it to CONSTANTS here`);
    assert.deepEqual(e.getValues().map((v) => v.name).sort(), [...constant].sort(), `schema enum ${e.name}`);
  }
});
