/** `…/d/D/telemetry`: readings, checked for fire evidence by the alarm service, then to storage (the bus). */
import { parseTelemetry } from '../../protocol/schema.ts';
import type { DeviceMessage, InboundServices, RouteOutcome } from './inbound.ts';

export function handleTelemetry(s: InboundServices, m: DeviceMessage): RouteOutcome {
  const r = parseTelemetry(m.payload, m.now);
  if (!r.ok) {
    s.reject(r.issues, 'telemetry');
    return 'drop';
  }
  if (r.warnings.length > 0) s.reject(r.warnings, 'telemetry');
  // Fire evidence (a hushed fire heating up, a detector whose event was lost) before storage.
  s.alarms.handleTelemetry(m.ref, r.value, m.now);
  s.bus.emit('telemetry', m.ref, r.value, m.now);
  return 'forward';
}
