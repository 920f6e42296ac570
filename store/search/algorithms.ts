// Graph algorithms over integer node ids (pure, iterative: no recursion, so deep graphs cannot
// overflow the stack).

/** A directed graph in compressed sparse row form, with the reverse adjacency too. */
export class Digraph {
  readonly outStart: Int32Array;
  readonly outList: Int32Array;
  readonly inStart: Int32Array;
  readonly inList: Int32Array;

  /** `edges` as pairs [from0, to0, from1, to1, ...]; duplicate edges are kept once. */
  constructor(readonly n: number, edges: ArrayLike<number>) {
    const seen = new Set<number>();
    const from: number[] = [];
    const to: number[] = [];
    for (let i = 0; i + 1 < edges.length; i += 2) {
      const a = edges[i]!;
      const b = edges[i + 1]!;
      const key = a * n + b;
      if (seen.has(key)) continue;
      seen.add(key);
      from.push(a);
      to.push(b);
    }
    [this.outStart, this.outList] = csr(n, from, to);
    [this.inStart, this.inList] = csr(n, to, from);
  }

  out(v: number): Int32Array {
    return this.outList.subarray(this.outStart[v]!, this.outStart[v + 1]!);
  }

  in(v: number): Int32Array {
    return this.inList.subarray(this.inStart[v]!, this.inStart[v + 1]!);
  }
}

function csr(n: number, from: number[], to: number[]): [Int32Array, Int32Array] {
  const start = new Int32Array(n + 1);
  for (const a of from) start[a + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const list = new Int32Array(from.length);
  for (let i = 0; i < from.length; i++) list[fill[from[i]!]!++] = to[i]!;
  // Sorted neighbour lists make every traversal deterministic.
  for (let v = 0; v < n; v++) list.subarray(start[v]!, start[v + 1]!).sort();
  return [start, list];
}

/**
 * PageRank by power iteration (damping 0.85; the rank of nodes without out-edges is spread
 * evenly, so ranks sum to 1). Stops when the L1 change is under `tolerance` or after `maxIter`.
 */
export function pageRank(g: Digraph, damping = 0.85, maxIter = 100, tolerance = 1e-9): Float64Array {
  const n = g.n;
  let rank = new Float64Array(n).fill(n === 0 ? 0 : 1 / n);
  let next = new Float64Array(n);
  for (let iter = 0; iter < maxIter && n > 0; iter++) {
    let dangling = 0;
    for (let v = 0; v < n; v++) if (g.outStart[v + 1] === g.outStart[v]) dangling += rank[v]!;
    const base = (1 - damping) / n + (damping * dangling) / n;
    next.fill(base);
    for (let v = 0; v < n; v++) {
      const outs = g.out(v);
      if (outs.length === 0) continue;
      const share = (damping * rank[v]!) / outs.length;
      for (const w of outs) next[w]! += share;
    }
    let delta = 0;
    for (let v = 0; v < n; v++) delta += Math.abs(next[v]! - rank[v]!);
    [rank, next] = [next, rank];
    if (delta < tolerance) break;
  }
  return rank;
}

/** A shortest path from `from` to `to` along out-edges (breadth-first), or null. */
export function shortestPath(g: Digraph, from: number, to: number): number[] | null {
  const prev = new Int32Array(g.n).fill(-1);
  prev[from] = from;
  let frontier = [from];
  while (frontier.length > 0 && prev[to] === -1) {
    const next: number[] = [];
    for (const v of frontier) {
      for (const w of g.out(v)) {
        if (prev[w] !== -1) continue;
        prev[w] = v;
        next.push(w);
      }
    }
    frontier = next;
  }
  if (prev[to] === -1) return null;
  const path = [to];
  for (let v = to; v !== from; v = prev[v]!) path.push(prev[v]!);
  return path.reverse();
}

/** Strongly connected components (Tarjan, with an explicit stack). Each component is sorted;
 * components come in reverse topological order. */
export function stronglyConnected(g: Digraph): number[][] {
  const n = g.n;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const out: number[][] = [];
  let counter = 0;
  // Call frames: the node and the position in its out-list.
  const frames: Array<[number, number]> = [];
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    frames.push([root, 0]);
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const [v, pos] = frame;
      const outs = g.out(v);
      if (pos < outs.length) {
        frame[1]++;
        const w = outs[pos]!;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          frames.push([w, 0]);
        } else if (onStack[w]) {
          low[v] = Math.min(low[v]!, index[w]!);
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low[parent[0]] = Math.min(low[parent[0]]!, low[v]!);
      if (low[v] === index[v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          comp.push(w);
        } while (w !== v);
        out.push(comp.sort((a, b) => a - b));
      }
    }
  }
  return out;
}
