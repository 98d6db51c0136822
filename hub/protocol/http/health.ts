/** `GET /health`: for supervisors and load balancers (public). 503 while degraded. */
import { Type, type Static } from 'typebox';
import { EpochMs } from './common.ts';

export const HealthAnswer = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  reasons: Type.Optional(Type.Array(Type.String(), { description: 'why it is degraded (journal, …)' })),
  version: Type.String(),
  uptimeS: Type.Integer(),
  startedAt: EpochMs,
  time: EpochMs,
});
export type HealthAnswer = Static<typeof HealthAnswer>;
