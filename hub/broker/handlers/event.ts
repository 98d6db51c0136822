/** `…/d/D/event`: a device's alarm-relevant event, to the alarm service (journalled before its PUBACK). */
import { parseDeviceEvent } from '../../protocol/schema.ts';
import { DETECTOR_KINDS, type DeviceMessage, type InboundServices, type RouteOutcome } from './inbound.ts';

export function handleEvent(s: InboundServices, m: DeviceMessage): RouteOutcome {
  const r = parseDeviceEvent(m.payload, m.now);
  if (!r.ok) {
    s.reject(r.issues, 'event');
    if (DETECTOR_KINDS.has(m.ref.kind)) s.markFault(m.ref, r.issues[0]!.message);
    return 'drop';
  }
  if (r.warnings.length > 0) s.reject(r.warnings, 'event');
  const fresh = s.alarms.handleDeviceEvent(m.ref, r.value, m.now);
  s.bus.emit('device-event', m.ref, r.value, m.now, !fresh);
  return fresh ? 'forward' : 'drop';
}
