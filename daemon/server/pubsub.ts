// The in-process EventSource: the event bridge (daemon/events.ts) publishes, subscriptions read.
//
// Our own fan-out rather than graphql-yoga's createPubSub (issue 8, item 1): createPubSub queued
// every event of a topic for every subscriber, filters ran only when the subscriber pulled, and its
// Repeater throws `RepeaterOverflowError` past 1,024 pending pushes. Thrown inside an EventTarget
// listener that became an uncaught exception, so one commit with 1,100 changed functions and one
// `entityChanged` subscriber (even one whose filter matched nothing) killed the daemon. Here:
//
// - a subscriber's filter runs at publish time: an event it does not want is never queued;
// - each subscriber has its own bounded queue, with a policy per topic (below);
// - publishing never throws into the publisher, whatever a subscriber does.
//
// Queue policy. `commitIndexed` and `entityChanged` deliver every event or say that they could
// not: a subscription may hold at most `maxPending` undelivered events, except that one commit's
// events are always accepted whole by a subscription with nothing pending (a consumer that keeps
// up never falls behind, however large a commit). When a commit's events would take a subscription
// that still has events pending past the bound, none of that commit's events are queued: the events
// already queued are delivered, then one `SubscriptionLag` item, which the resolver turns into a
// `SUBSCRIPTION_LAGGED` error naming the first commit not delivered, and the subscription ends.
// (Tokio's broadcast channel reports `Lagged` the same way; Redis closes a client past its output
// buffer limit.) `indexProgress` coalesces instead: only the newest pending progress is kept.
import type { EventMap, EventSource, SubscriptionLag, Topic } from '../../resolvers/context.ts';

export interface InProcessEventsOptions {
  /** Most undelivered events one subscription may hold (see the queue policy above). @default 10_000 */
  maxPending?: number;
}

type Item<T extends Topic> = EventMap[T] | SubscriptionLag;

class Subscriber<T extends Topic> {
  private queue: Array<Item<T>> = [];
  private head = 0;
  private waiter: ((r: IteratorResult<Item<T>>) => void) | null = null;
  /** No more events are accepted (lagged or unsubscribed); the queue still drains. */
  closed = false;

  constructor(
    readonly keep: (e: EventMap[T]) => boolean,
    private readonly unsubscribe: () => void,
  ) {}

  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Queues `items` (already filtered), or the lag marker when they do not fit. */
  offer(items: Array<EventMap[T]>, maxPending: number, coalesce: boolean): void {
    if (this.closed || items.length === 0) return;
    if (coalesce) {
      this.queue = [items[items.length - 1]!];
      this.head = 0;
    } else if (this.pending > 0 && this.pending + items.length > maxPending) {
      const first = items[0] as { sha?: unknown };
      this.queue.push({ lagged: true, maxPending, sha: typeof first.sha === 'string' ? first.sha : null });
      this.end();
    } else {
      for (const e of items) this.queue.push(e);
    }
    this.wake();
  }

  /** Stops accepting events and unsubscribes; what is queued is still delivered. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
  }

  private wake(): void {
    const w = this.waiter;
    if (!w || this.pending === 0) return;
    this.waiter = null;
    w({ done: false, value: this.take() });
  }

  private take(): Item<T> {
    const v = this.queue[this.head]!;
    this.queue[this.head++] = undefined as never; // let the event be collected
    // Compact now and then so a long-lived queue does not keep a growing dead prefix.
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return v;
  }

  iterator(): AsyncIterableIterator<Item<T>> {
    const it: AsyncIterableIterator<Item<T>> = {
      next: () => {
        if (this.pending > 0) return Promise.resolve({ done: false, value: this.take() });
        if (this.closed) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => (this.waiter = resolve));
      },
      return: (value?: unknown) => {
        this.end();
        this.queue = [];
        this.head = 0;
        const w = this.waiter;
        this.waiter = null;
        w?.({ done: true, value: undefined });
        return Promise.resolve({ done: true, value: value as Item<T> });
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }
}

export class InProcessEvents implements EventSource {
  private readonly topics = new Map<string, Set<Subscriber<Topic>>>();
  private readonly maxPending: number;

  constructor(opts: InProcessEventsOptions = {}) {
    const max = opts.maxPending ?? 10_000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`options.maxPending must be a positive integer, got ${max}`);
    this.maxPending = max;
  }

  /** Publishes one event (for `entityChanged`, one commit's events go through `publishCommit`). */
  publish<T extends Topic>(topic: T, event: EventMap[T] & { repository: string }): void {
    this.publishCommit(topic, event.repository, [event]);
  }

  /**
   * Publishes one commit's events as one unit: each subscriber queues the events its filter keeps,
   * all of them or none (see the queue policy at the top of this file).
   */
  publishCommit<T extends Topic>(topic: T, repository: string, events: Array<EventMap[T]>): void {
    const subs = this.topics.get(key(topic, repository)) as Set<Subscriber<T>> | undefined;
    if (!subs) return;
    for (const s of [...subs]) {
      let kept: Array<EventMap[T]>;
      try {
        kept = events.filter(s.keep);
      } catch {
        // A filter that throws ends its own subscription, never the publisher.
        s.end();
        continue;
      }
      s.offer(kept, this.maxPending, topic === 'indexProgress');
    }
  }

  /** Number of live subscriptions to a topic (the bridge skips work nobody listens to). */
  subscribers(topic: Topic, repository: string): number {
    return this.topics.get(key(topic, repository))?.size ?? 0;
  }

  subscribe<T extends Topic>(topic: T, repository: string, keep: (e: EventMap[T]) => boolean = () => true): AsyncIterableIterator<Item<T>> {
    const k = key(topic, repository);
    let subs = this.topics.get(k);
    if (!subs) this.topics.set(k, (subs = new Set()));
    const set = subs;
    const s: Subscriber<T> = new Subscriber<T>(keep, () => {
      set.delete(s as unknown as Subscriber<Topic>);
      if (set.size === 0 && this.topics.get(k) === set) this.topics.delete(k);
    });
    set.add(s as unknown as Subscriber<Topic>);
    return s.iterator();
  }
}

const key = (topic: Topic, repository: string) => `${topic}\0${repository}`;
