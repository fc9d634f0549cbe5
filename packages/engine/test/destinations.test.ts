import { describe, expect, it } from 'vitest';
import { Destinations, destinationOf } from '../src/ops/destinations.js';
import type { Span } from '../src/types.js';

function span(kind: Span['kind'], attributes: Span['attributes']): Span {
  return { traceId: 't', spanId: 's', service: 'svc', name: 'n', kind, startTime: 1, endTime: 2, status: 'unset', attributes };
}

describe('messaging destinations', () => {
  it('names a destination by system and name, else by RabbitMQ routing key', () => {
    expect(destinationOf(span('producer', { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' }))).toBe('kafka\u0001orders');
    expect(destinationOf(span('consumer', { 'messaging.system': 'rabbitmq', 'messaging.rabbitmq.destination.routing_key': 'jobs' }))).toBe('rabbitmq\u0001jobs');
    expect(destinationOf(span('consumer', {}))).toBeUndefined();
    expect(destinationOf(span('consumer', { 'messaging.destination.name': '' }))).toBeUndefined();
  });

  it('links each consumer to each producer of its destination once, whichever is seen first', () => {
    const d = new Destinations();
    const links: string[] = [];
    const link = (consumer: string, producer: string): void => {
      links.push(`${consumer} <- ${producer}`);
    };
    d.note('kafka\u0001orders', 'fraud process', false, link);
    d.note('kafka\u0001orders', 'checkout PlaceOrder', true, link);
    d.note('kafka\u0001orders', 'checkout PlaceOrder', true, link);
    d.note('kafka\u0001orders', 'accounting receive', false, link);
    d.note('kafka\u0001other', 'accounting receive', false, link);
    expect(links).toEqual(['fraud process <- checkout PlaceOrder', 'accounting receive <- checkout PlaceOrder']);
  });
});
