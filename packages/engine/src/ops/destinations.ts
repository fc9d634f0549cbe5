import type { Span } from '../types.js';

/** Destinations (queues, topics) remembered, and producers and consumers kept per destination, at most. */
const MAX_DESTINATIONS = 1024;
const MAX_PER_DESTINATION = 64;

/**
 * The messaging destination a producer or consumer span names: its `messaging.destination.name`, else
 * RabbitMQ's routing key (a message to the default exchange names no destination), with its system.
 * Undefined for other spans.
 */
export function destinationOf(span: Span): string | undefined {
  const a = span.attributes;
  if (a === undefined) return undefined;
  const name = a['messaging.destination.name'] ?? a['messaging.rabbitmq.destination.routing_key'] ?? a['messaging.rabbitmq.routing_key'];
  if (typeof name !== 'string' || name === '') return undefined;
  const system = a['messaging.system'];
  return `${typeof system === 'string' ? system : ''}\u0001${name}`;
}

/**
 * Who sends to each messaging destination and who consumes from it, as operation keys: consumers that
 * record their messages in traces of their own (Kafka's, by default) are tied to the operations whose
 * requests produce them by the destination both name. A consumer's traffic stops when its producers
 * fail before they send; tied, its drop is their failure's effect, not an incident of its own.
 */
export class Destinations {
  private readonly byName = new Map<string, { producers: Set<string>; consumers: Set<string> }>();

  /**
   * Notes that operation `key` produces to (`producer`) or consumes from `destination`; calls `link` with
   * each (consumer, producer) pair this makes known for the first time.
   */
  note(destination: string, key: string, producer: boolean, link: (consumer: string, producer: string) => void): void {
    let d = this.byName.get(destination);
    if (d === undefined) {
      if (this.byName.size >= MAX_DESTINATIONS) return;
      d = { producers: new Set(), consumers: new Set() };
      this.byName.set(destination, d);
    }
    const mine = producer ? d.producers : d.consumers;
    if (mine.has(key) || mine.size >= MAX_PER_DESTINATION) return;
    mine.add(key);
    for (const other of producer ? d.consumers : d.producers) link(producer ? other : key, producer ? key : other);
  }
}
