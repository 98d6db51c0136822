/**
 * Every use of Aedes' private fields, in one file (Aedes 1.2.0, pinned in package.json):
 *  - the broker's publish `counter` (session-store.ts keys queued messages by it);
 *  - a client's `_parser` (the packet size guard hooks its `parse`, the ingress scheduler its
 *    'packet' listener), `_nextBatch` / `_parsingBatch` and `conn` (the scheduler's read loop);
 *  - a client's `deliver0` / `deliverQoS` (the slow-client guard wraps them) and `clean`, `closed`,
 *    `connackSent`.
 * `missingInternals` names what is not as expected, so an Aedes upgrade that changes them is seen at
 * once (test/integration/hub/aedes-internals.test.ts runs it against a real broker and client); each user
 * also refuses a client whose internals are not as expected and the hub says so in its log.
 */
import type { Aedes, Client } from 'aedes';
import type { ParserLike, ReadLoop, StreamLike } from './ingress-scheduler.ts';
import type { DeliveryHooks } from './slow-client-guard.ts';

/** Aedes' MQTT parser of one connection: `parse` is hooked by the packet size guard. */
export interface ClientParser {
  parse(buf: Buffer): number;
}

interface ClientInternals {
  _parser?: { parse?: unknown; listeners?: unknown };
  _nextBatch?: unknown;
  _parsingBatch?: unknown;
  conn?: { listeners?: unknown };
  deliver0?: unknown;
  deliverQoS?: unknown;
  clean?: unknown;
  closed?: unknown;
  connackSent?: unknown;
}

/**
 * Starts the broker's publish counter at `value` (Aedes starts it at 0). False when Aedes has no
 * such counter any more.
 */
export function startPublishCounterAt(aedes: Aedes, value: number): boolean {
  const a = aedes as unknown as { counter?: unknown };
  if (typeof a.counter !== 'number') return false;
  a.counter = value;
  return true;
}

/** The client's parser, or null when Aedes' internals changed. */
export function parserOf(client: Client): ClientParser | null {
  const p = (client as unknown as ClientInternals)._parser;
  return p && typeof p.parse === 'function' ? (p as ClientParser) : null;
}

/** The connection's read loop as the ingress scheduler drives it, or null when Aedes' internals changed. */
export function readLoopOf(client: Client): ReadLoop | null {
  const c = client as unknown as {
    _parser?: ParserLike;
    conn?: StreamLike;
    _nextBatch?: (err?: Error | null) => void;
    _parsingBatch?: number;
    connackSent?: boolean;
    closed?: boolean;
  };
  const { _parser: parser, conn: stream, _nextBatch: nextBatch } = c;
  if (!parser || typeof parser.listeners !== 'function' || !stream || typeof stream.listeners !== 'function') return null;
  if (typeof nextBatch !== 'function' || typeof c._parsingBatch !== 'number') return null;
  return {
    parser,
    stream,
    nextBatch,
    holdBatch: () => {
      (c._parsingBatch as number)++;
    },
    connackSent: () => c.connackSent === true,
    closed: () => c.closed === true,
  };
}

/** The connection's delivery functions as the slow-client guard wraps them, or null when Aedes' internals changed. */
export function deliveryHooksOf(client: Client): DeliveryHooks | null {
  type Deliver = DeliveryHooks['deliver0'];
  const c = client as unknown as { deliver0?: Deliver; deliverQoS?: Deliver; clean?: boolean; closed?: boolean };
  if (typeof c.deliver0 !== 'function' || typeof c.deliverQoS !== 'function' || typeof c.clean !== 'boolean') return null;
  return {
    deliver0: c.deliver0,
    deliverQoS: c.deliverQoS,
    install: (deliver0, deliverQoS) => {
      c.deliver0 = deliver0;
      c.deliverQoS = deliverQoS;
    },
    clean: () => c.clean === true,
    closed: () => c.closed === true,
  };
}

/** What of the above is not as expected on this broker and (connected) client; empty when all is. */
export function missingInternals(aedes: Aedes, client: Client): string[] {
  const c = client as unknown as ClientInternals;
  const missing: string[] = [];
  if (typeof (aedes as unknown as { counter?: unknown }).counter !== 'number') missing.push('aedes.counter');
  if (!c._parser || typeof c._parser.parse !== 'function') missing.push('client._parser.parse');
  if (!c._parser || typeof c._parser.listeners !== 'function') missing.push('client._parser.listeners');
  if (typeof c._nextBatch !== 'function') missing.push('client._nextBatch');
  if (typeof c._parsingBatch !== 'number') missing.push('client._parsingBatch');
  if (!c.conn || typeof c.conn.listeners !== 'function') missing.push('client.conn');
  if (typeof c.deliver0 !== 'function') missing.push('client.deliver0');
  if (typeof c.deliverQoS !== 'function') missing.push('client.deliverQoS');
  for (const flag of ['clean', 'closed', 'connackSent'] as const) if (typeof c[flag] !== 'boolean') missing.push(`client.${flag}`);
  return missing;
}
