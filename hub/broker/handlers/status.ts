/** `…/d/D/status`: `online`/`offline` (a device's own word, its will), to supervision (the bus). */
import { parseStatus } from '../../protocol/schema.ts';
import type { DeviceMessage, InboundServices, RouteOutcome } from './inbound.ts';

export function handleStatus(s: InboundServices, m: DeviceMessage): RouteOutcome {
  const r = parseStatus(m.payload);
  if (!r.ok) {
    s.reject(r.issues, 'status');
    return 'drop';
  }
  s.bus.emit('device-status', m.ref, r.value, m.now);
  return 'forward';
}
