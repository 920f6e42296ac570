// The in-process EventSource: the indexer publishes, subscriptions read. One topic per
// (event, repository). The LISTEN/NOTIFY bridge can publish into it, or replace it behind the
// same interface.
import { setMaxListeners } from 'node:events';
import { createPubSub } from 'graphql-yoga';
import type { EventMap, EventSource, Topic } from '../../resolvers/context.ts';

export class InProcessEvents implements EventSource {
  private readonly pubsub = createPubSub<{
    [K in Topic as `${K}`]: [repository: string, payload: EventMap[K]];
  }>({ eventTarget: unlimitedTarget() });

  publish<T extends Topic>(topic: T, event: EventMap[T] & { repository: string }): void {
    (this.pubsub.publish as (t: string, id: string, p: unknown) => void)(topic, event.repository, event);
  }

  subscribe<T extends Topic>(topic: T, repository: string): AsyncIterableIterator<EventMap[T]> {
    const it = (this.pubsub.subscribe as (t: string, id: string) => AsyncIterable<EventMap[T]>)(topic, repository);
    return it[Symbol.asyncIterator]() as AsyncIterableIterator<EventMap[T]>;
  }
}

/** Every subscriber adds a listener to one topic: Node's default of 10 per EventTarget would log a
 * MaxListenersExceededWarning from the 11th dashboard on. */
function unlimitedTarget(): EventTarget {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target;
}
