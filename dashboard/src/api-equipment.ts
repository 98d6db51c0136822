/**
 * Equipment (extinguishers, rescue tools) with its expiry: one household's with its device health
 * (`GET /api/households/:id/health`), or every item in the user's scope (`GET /api/equipment`).
 */
import { enc, query, request } from './api-core.ts';
import { fromHealth, type DeviceInfo } from './api.ts';
import type { HouseholdHealthAnswer } from '../../hub/protocol/http/device-health.ts';
import type { Equipment } from './readiness.ts';

/** What the hub answers for its equipment route (hub/protocol/http/supervision.ts). */
interface EquipmentAnswer {
  today: string;
  horizonDays: number;
  items: Equipment[];
}
/** The monthly reminder's horizon, if a hub older than horizonDays does not say. */
const DEFAULT_HORIZON_DAYS = 30;

export interface HouseholdHealth {
  devices: DeviceInfo[];
  equipment: Omit<Equipment, 'household' | 'team'>[];
  horizonDays: number;
}

/** The devices of one household (battery, last self-test, supervision) and its equipment. */
export async function householdHealth(id: string): Promise<HouseholdHealth> {
  const a = await request<HouseholdHealthAnswer>('GET', `/api/households/${enc(id)}/health`);
  return { devices: a.devices.map(fromHealth), equipment: a.equipment ?? [], horizonDays: a.horizonDays ?? DEFAULT_HORIZON_DAYS };
}

/** Every item the user may see (scoped by the hub), or a team's. */
export async function equipment(team?: string | null): Promise<{ today: string; horizonDays: number; items: Equipment[] }> {
  const a = await request<EquipmentAnswer>('GET', `/api/equipment${query({ team })}`);
  return { today: a.today, horizonDays: a.horizonDays ?? DEFAULT_HORIZON_DAYS, items: Array.isArray(a.items) ? a.items : [] };
}
