/** `…/h/H/response`: a household's answer to an alarm (its bridge, its phone, the station on its behalf). */
import type { Principal } from '../../core/acl.ts';
import { SmokehubError } from '../../protocol/errors.ts';
import { parseResponse, type Actor } from '../../protocol/schema.ts';
import type { InboundServices, RouteOutcome } from './inbound.ts';

export function handleResponse(s: InboundServices, principal: Principal, household: string, payload: Buffer): RouteOutcome {
  const r = parseResponse(payload);
  if (!r.ok) {
    s.reject(r.issues, 'response');
    return 'drop';
  }
  try {
    s.alarms.respond(household, r.value.alarm, r.value.response, { by: actorOf(principal), via: 'mqtt' });
  } catch (err) {
    if (!(err instanceof SmokehubError)) throw err;
    s.reject([{ code: err.code, message: err.message }], 'response');
    return 'drop';
  }
  s.log.info(
    {
      ...(principal.type === 'device' ? { device: principal.device } : { user: principal.username }),
      household,
      alarm: r.value.alarm,
      response: r.value.response,
    },
    'response recorded',
  );
  return 'forward';
}

/** Who did it, for the journal. */
function actorOf(p: Principal): Actor {
  return p.type === 'device' ? { kind: 'device', id: p.device } : { kind: 'user', id: p.username, role: p.role };
}
