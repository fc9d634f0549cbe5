import type { Span } from '../types.js';
import { messagingSystem } from '../model/operation.js';

/** Destinations (queues, topics) remembered, and producers and consumers kept per destination, at most. */
const MAX_DESTINATIONS = 1024;
const MAX_PER_DESTINATION = 64;

interface Ends {
  producers: Set<string>;
  consumers: Set<string>;
}

/**
 * Who sends to each messaging destination and who consumes from it, as operation keys: consumers that
 * record their messages in traces of their own (Kafka's, by default) are tied to the operations whose
 * requests produce them by the destination both name. A consumer's traffic stops when its producers
 * fail before they send; tied, its drop is their failure's effect, not an incident of its own.
 */
export class Destinations {
  /** By messaging system ('' where a span names none), then destination: looked up without building a key per span. */
  private readonly bySystem = new Map<string, Map<string, Ends>>();
  private size = 0;

  /**
   * Notes that operation `key` produces (`producer`) or consumes the messages of the destination `span`
   * names — its `messaging.destination.name`, else RabbitMQ's routing key (a message to the default exchange
   * names no destination), else BullMQ's queue, within its messaging system (see `messagingSystem`) — and
   * calls `link` with each (consumer, producer) pair this makes known for the first time. A span naming no
   * destination is ignored.
   */
  note(span: Span, key: string, producer: boolean, link: (consumer: string, producer: string) => void): void {
    const a = span.attributes;
    if (a === undefined) return;
    const name = a['messaging.destination.name'] ?? a['messaging.rabbitmq.destination.routing_key'] ?? a['messaging.rabbitmq.routing_key'] ?? a['bullmq.queue.name'];
    if (typeof name !== 'string' || name === '') return;
    const system = messagingSystem(a) ?? '';
    let names = this.bySystem.get(system);
    let d = names?.get(name);
    if (d === undefined) {
      if (this.size >= MAX_DESTINATIONS) return;
      if (names === undefined) this.bySystem.set(system, (names = new Map()));
      names.set(name, (d = { producers: new Set(), consumers: new Set() }));
      this.size++;
    }
    const mine = producer ? d.producers : d.consumers;
    if (mine.has(key) || mine.size >= MAX_PER_DESTINATION) return;
    mine.add(key);
    for (const other of producer ? d.consumers : d.producers) link(producer ? other : key, producer ? key : other);
  }
}
