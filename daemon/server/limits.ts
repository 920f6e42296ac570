// Operation limits, applied to HTTP, SSE and graphql-ws alike (they are Envelop plugins inside
// Yoga's pipeline): token count at parse time, then depth, estimated cost and aliases at
// validation time. Each refusal carries `extensions.code`.
import {
  GraphQLError, Kind, parse, type ASTVisitor, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode,
  type ValidationContext, type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { codedError } from '../../resolvers/errors.ts';
import { ASSUMED_LIST, MAX_DEPTH, walkCost } from '../../resolvers/index.ts';

export interface OperationLimits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxTokens: number;
  /** Cap on the entities one callers / callees / impacted field returns. */
  maxResults: number;
}

/** Multiplier for a list field whose size the query does not bound. */
const UNBOUNDED_LIST = ASSUMED_LIST;
/** Fields whose size is `first` (default in the SDL when absent). */
const PAGED: Record<string, number> = { commits: 20, entities: 50 };
/** Call-graph walks: default `depth` (SDL) and how many entities they start from (a diff's changed
 * entities are unknown until it is computed: assumed ASSUMED_LIST, checked again by the resolver). */
const WALKS: Record<string, { depth: number; sources: number }> = {
  callers: { depth: 1, sources: 1 }, callees: { depth: 1, sources: 1 }, impacted: { depth: 2, sources: ASSUMED_LIST },
};
/** Plain list fields (not connections). */
const LISTS = new Set(['repositories', 'refs', 'added', 'removed', 'modified', 'renamed', 'moved', 'history', 'entityHistory', 'skipped', 'parents']);

function intArg(field: FieldNode, name: string, fallback: number, ifVariable: number): number {
  const arg = field.arguments?.find((a) => a.name.value === name);
  if (!arg) return fallback;
  const v: ValueNode = arg.value;
  if (v.kind === Kind.INT) return Math.max(0, Number(v.value));
  if (v.kind === Kind.VARIABLE) return ifVariable; // unknown at validation time: assume the worst allowed
  return fallback;
}

function fieldMultiplier(field: FieldNode): number {
  const name = field.name.value;
  if (name in PAGED) return Math.max(1, intArg(field, 'first', PAGED[name]!, 100));
  if (LISTS.has(name)) return UNBOUNDED_LIST;
  return 1;
}

/** Cost of a field given the cost of its selection at multiplier 1 (README, "Limits"). */
function fieldCost(field: FieldNode, child: number, maxResults: number): number {
  const walk = WALKS[field.name.value];
  if (walk) {
    const depth = Math.min(MAX_DEPTH, Math.max(1, intArg(field, 'depth', walk.depth, MAX_DEPTH)));
    return walkCost(walk.sources, depth, maxResults, child);
  }
  return 1 + fieldMultiplier(field) * child;
}

interface Measure {
  depth: number;
  /** Cost at multiplier 1; cost is linear in the multiplier, so the enclosing field scales it. */
  cost: number;
}

/**
 * Measures one selection set at multiplier 1. Fragments are measured once and memoised (so a
 * document of fragments spreading fragments cannot make this walk exponential) and a fragment
 * already on the path counts 0 (cycles are NoFragmentCyclesRule's error).
 */
function measure(ctx: ValidationContext, set: SelectionSetNode, memo: Map<string, Measure>, path: Set<string>, maxResults: number): Measure {
  let depth = 0;
  let cost = 0;
  for (const sel of set.selections) {
    let m: Measure;
    if (sel.kind === Kind.FIELD) {
      if (sel.name.value.startsWith('__')) continue; // introspection is not limited
      const child = sel.selectionSet ? measure(ctx, sel.selectionSet, memo, path, maxResults) : { depth: 0, cost: 0 };
      m = { depth: 1 + child.depth, cost: fieldCost(sel, child.cost, maxResults) };
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      m = measure(ctx, sel.selectionSet, memo, path, maxResults);
    } else {
      const name = sel.name.value;
      const frag: FragmentDefinitionNode | null | undefined = ctx.getFragment(name);
      if (!frag || path.has(name)) continue;
      let known = memo.get(name);
      if (!known) {
        path.add(name);
        known = measure(ctx, frag.selectionSet, memo, path, maxResults);
        path.delete(name);
        memo.set(name, known);
      }
      m = known;
    }
    depth = Math.max(depth, m.depth);
    cost += m.cost;
  }
  return { depth, cost };
}

export function limitsRule(limits: OperationLimits) {
  return (ctx: ValidationContext): ASTVisitor => {
    let aliases = 0;
    return {
      Field(node) {
        if (node.alias) aliases++;
      },
      Document: {
        leave() {
          if (aliases > limits.maxAliases) {
            ctx.reportError(codedError('TOO_MANY_ALIASES', `operation uses ${aliases} aliases; at most ${limits.maxAliases} are allowed. Split the request.`) as GraphQLError);
          }
        },
      },
      OperationDefinition(node) {
        const m = measure(ctx, node.selectionSet, new Map(), new Set(), limits.maxResults);
        if (m.depth > limits.maxDepth) {
          ctx.reportError(codedError('QUERY_TOO_DEEP', `operation is ${m.depth} fields deep; at most ${limits.maxDepth} are allowed. Query nested data in separate requests.`));
        }
        const cost = m.cost;
        if (cost > limits.maxCost) {
          ctx.reportError(codedError('QUERY_TOO_COMPLEX', `operation's estimated cost ${cost} is over the limit of ${limits.maxCost}. Lower \`first\` and \`depth\` arguments, or select fewer nested lists.`, { cost, maxCost: limits.maxCost }));
        }
      },
    };
  };
}

/** Parses with graphql-js's `maxTokens`, turning its syntax error into TOO_MANY_TOKENS. */
export function parseLimited(maxTokens: number) {
  return (source: Parameters<typeof parse>[0], options?: Parameters<typeof parse>[1]) => {
    try {
      return parse(source, { ...options, maxTokens });
    } catch (err) {
      if (err instanceof GraphQLError && /more tha[nt] \d+ tokens/.test(err.message)) {
        throw codedError('TOO_MANY_TOKENS', `document has more than ${maxTokens} tokens. Send a smaller query.`);
      }
      throw err;
    }
  };
}

export function useOperationLimits(limits: OperationLimits): Plugin {
  const parseFn = parseLimited(limits.maxTokens);
  const rule = limitsRule(limits);
  return {
    onParse({ setParseFn }) {
      setParseFn(parseFn);
    },
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}
