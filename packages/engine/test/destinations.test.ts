import { describe, expect, it } from 'vitest';
import { Destinations } from '../src/ops/destinations.js';
import type { Span } from '../src/types.js';

function span(kind: Span['kind'], attributes: Span['attributes']): Span {
  return { traceId: 't', spanId: 's', service: 'svc', name: 'n', kind, startTime: 1, endTime: 2, status: 'unset', attributes };
}

/** The (consumer, producer) links a sequence of notes makes. */
function links(notes: Array<[Span, string, boolean]>): string[] {
  const d = new Destinations();
  const out: string[] = [];
  for (const [s, key, producer] of notes) d.note(s, key, producer, (consumer, from) => out.push(`${consumer} <- ${from}`));
  return out;
}

describe('messaging destinations', () => {
  it('names a destination by system and name, else by RabbitMQ routing key', () => {
    const kafka = { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' };
    expect(links([[span('consumer', kafka), 'c', false], [span('producer', kafka), 'p', true]])).toEqual(['c <- p']);
    // The same name in another system is another destination.
    expect(links([[span('consumer', kafka), 'c', false], [span('producer', { ...kafka, 'messaging.system': 'rabbitmq' }), 'p', true]])).toEqual([]);
    const jobs = { 'messaging.system': 'rabbitmq', 'messaging.rabbitmq.destination.routing_key': 'jobs' };
    expect(links([[span('consumer', jobs), 'c', false], [span('producer', { 'messaging.system': 'rabbitmq', 'messaging.rabbitmq.routing_key': 'jobs' }), 'p', true]])).toEqual(['c <- p']);
    // BullMQ's own telemetry (bullmq-otel) names its queue alone: a destination of the bullmq system.
    const queue = { 'bullmq.queue.name': 'orders' };
    expect(links([[span('consumer', queue), 'c', false], [span('producer', queue), 'p', true]])).toEqual(['c <- p']);
    expect(links([[span('consumer', queue), 'c', false], [span('producer', kafka), 'p', true]])).toEqual([]);
    expect(links([[span('consumer', {}), 'c', false], [span('producer', {}), 'p', true]])).toEqual([]);
    expect(links([[span('consumer', { 'messaging.destination.name': '' }), 'c', false], [span('producer', { 'messaging.destination.name': '' }), 'p', true]])).toEqual([]);
  });

  it('links each consumer to each producer of its destination once, whichever is seen first', () => {
    const orders = span('producer', { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' });
    const other = span('consumer', { 'messaging.system': 'kafka', 'messaging.destination.name': 'other' });
    expect(
      links([
        [orders, 'fraud process', false],
        [orders, 'checkout PlaceOrder', true],
        [orders, 'checkout PlaceOrder', true],
        [orders, 'accounting receive', false],
        [other, 'accounting receive', false],
      ]),
    ).toEqual(['fraud process <- checkout PlaceOrder', 'accounting receive <- checkout PlaceOrder']);
  });
});
