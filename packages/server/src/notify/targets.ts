/**
 * Notification targets and the request each one gets for an incident event: a generic signed JSON
 * webhook, a Slack incoming webhook, PagerDuty Events API v2.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { eventNote, type IncidentEvent, type Severity } from '@rootspan/engine';
import { incidentJson, iso, noteText } from '../shapes.js';

export type NotifyEvent = IncidentEvent['type'];

interface TargetBase {
  /** Shown in status and metrics; default `<type>-<index>`. */
  name?: string;
  /** Which incident events are sent. Default `["opened", "updated", "resolved"]` (`acknowledged` may be added). */
  events?: NotifyEvent[];
  /** Incidents below this severity are not sent. Default `low` (all). */
  minSeverity?: Severity;
}

/** A JSON POST of `{ type, incident, sentAt }`, signed with HMAC-SHA256 when a secret is given. */
export interface WebhookTarget extends TargetBase {
  type: 'webhook';
  url: string;
  /** Signs each body: `X-Rootspan-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, with `X-Rootspan-Timestamp`. */
  secret?: string;
  /** Extra request headers (e.g. an API key of the receiving system). */
  headers?: Record<string, string>;
}

/** A Slack incoming webhook (`https://hooks.slack.com/services/...`). */
export interface SlackTarget extends TargetBase {
  type: 'slack';
  url: string;
}

/** PagerDuty Events API v2: opened/updated trigger, acknowledged acknowledges, resolved resolves; `dedup_key` is the incident id. */
export interface PagerDutyTarget extends TargetBase {
  type: 'pagerduty';
  /** The integration's routing key. */
  routingKey: string;
  /** Default `https://events.pagerduty.com/v2/enqueue`. */
  url?: string;
}

export type NotificationTarget = WebhookTarget | SlackTarget | PagerDutyTarget;

/** What goes over the wire for one event. */
export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
const DEFAULT_EVENTS: readonly NotifyEvent[] = ['opened', 'updated', 'reopened', 'resolved'];
export const PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';

/** Whether the target wants this event. */
export function wants(target: NotificationTarget, event: IncidentEvent): boolean {
  if (!(target.events ?? DEFAULT_EVENTS).includes(event.type)) return false;
  return SEVERITY_RANK[event.incident.severity] >= SEVERITY_RANK[target.minSeverity ?? 'low'];
}

/** Validates a target from a config file; throws a message naming the bad field. */
export function checkTarget(t: unknown, where: string): NotificationTarget {
  if (typeof t !== 'object' || t === null) throw new TypeError(`${where}: expected an object`);
  const target = t as NotificationTarget;
  const url = (v: unknown, field: string) => {
    if (typeof v !== 'string' || !/^https?:\/\//.test(v)) throw new TypeError(`${where}.${field}: expected an http(s) URL`);
  };
  if (target.type === 'webhook' || target.type === 'slack') url(target.url, 'url');
  else if (target.type === 'pagerduty') {
    if (typeof target.routingKey !== 'string' || target.routingKey === '') throw new TypeError(`${where}.routingKey: expected the integration's routing key`);
    if (target.url !== undefined) url(target.url, 'url');
  } else throw new TypeError(`${where}.type: expected "webhook", "slack" or "pagerduty"`);
  for (const e of target.events ?? []) {
    if (!['opened', 'updated', 'reopened', 'resolved', 'acknowledged'].includes(e)) throw new TypeError(`${where}.events: unknown event "${e}"`);
  }
  if (target.minSeverity !== undefined && !(target.minSeverity in SEVERITY_RANK)) throw new TypeError(`${where}.minSeverity: expected low, medium, high or critical`);
  return target;
}

/** The signature header value for a body: `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>`. */
export function sign(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * The request for one event. With the server's `baseUrl` (once it knows it), links go to the incident's
 * dashboard page (people click them: its JSON showed raw, or refused without the token); a webhook also
 * gets the API URL of its JSON.
 */
export function requestFor(target: NotificationTarget, event: IncidentEvent, baseUrl: string | undefined, now: number): OutgoingRequest {
  const inc = event.incident;
  const json = { 'content-type': 'application/json' };
  const incidentUrl = baseUrl === undefined ? undefined : `${baseUrl}/#/incidents/${encodeURIComponent(inc.id)}`;
  if (target.type === 'webhook') {
    // One id per event, the same on every retry: a receiver that answered too late for us (a retry it
    // processes again) tells the copies apart by it.
    const id = randomUUID();
    const body = JSON.stringify({ id, type: `incident.${event.type}`, incident: incidentJson(inc), url: incidentUrl ?? null, apiUrl: baseUrl === undefined ? null : `${baseUrl}/aiops/incidents/${encodeURIComponent(inc.id)}`, sentAt: iso(now) });
    const headers: Record<string, string> = { ...target.headers, ...json, 'x-rootspan-event-id': id };
    if (target.secret !== undefined) {
      const ts = String(Math.floor(now / 1000));
      headers['x-rootspan-timestamp'] = ts;
      headers['x-rootspan-signature'] = sign(target.secret, ts, body);
    }
    return { url: target.url, headers, body };
  }
  const rc = inc.rootCause;
  const where = `${rc.service}${rc.operation ? ` ${rc.operation}` : ''}`;
  if (target.type === 'slack') {
    const icon = event.type === 'resolved' ? ':white_check_mark:' : event.type === 'acknowledged' ? ':eyes:' : ':rotating_light:';
    const by = noteText(eventNote(event));
    const head = `${icon} *${event.type.toUpperCase()}* [${inc.severity}] ${inc.title} (${inc.id})${by === '' ? '' : ` (${event.type}${by})`}`;
    const text = `${head}\nRoot cause: ${where} (${rc.kind}, confidence ${Math.round(rc.confidence * 100)}%)\n${rc.explanation}`;
    const body = {
      text,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: head } },
        { type: 'section', text: { type: 'mrkdwn', text: `*Root cause:* ${where} (${rc.kind}, confidence ${Math.round(rc.confidence * 100)}%)\n${rc.explanation}` } },
        {
          type: 'context',
          elements: [
            { type: 'mrkdwn', text: `Affected: ${inc.affected.map((a) => a.service).filter((s, i, all) => all.indexOf(s) === i).join(', ')} · opened ${iso(inc.openedAt)}${incidentUrl ? ` · <${incidentUrl}|details>` : ''}` },
          ],
        },
      ],
    };
    return { url: target.url, headers: json, body: JSON.stringify(body) };
  }
  const action = event.type === 'resolved' ? 'resolve' : event.type === 'acknowledged' ? 'acknowledge' : 'trigger';
  const body: Record<string, unknown> = { routing_key: target.routingKey, event_action: action, dedup_key: inc.id };
  if (action === 'trigger') {
    body.payload = {
      summary: `${inc.title}: ${rc.explanation}`.slice(0, 1024),
      source: rc.service,
      severity: PAGERDUTY_SEVERITY[inc.severity],
      timestamp: iso(inc.updatedAt),
      component: where,
      class: rc.kind,
      custom_details: { incident: inc.id, rootCause: where, confidence: rc.confidence, affected: inc.affected, traceIds: inc.traceIds },
    };
    if (incidentUrl !== undefined) body.links = [{ href: incidentUrl, text: 'rootspan incident' }];
  }
  return { url: target.url ?? PAGERDUTY_URL, headers: json, body: JSON.stringify(body) };
}

const PAGERDUTY_SEVERITY: Record<Severity, string> = { low: 'info', medium: 'warning', high: 'error', critical: 'critical' };
