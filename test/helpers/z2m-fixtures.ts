/**
 * Reads the recorded Zigbee2MQTT shapes in test/fixtures/z2m/ (Z2M 2.12.1 and 1.42.0; see its
 * README for the sources of every file).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../fixtures/z2m/', import.meta.url));
const read = (file: string): any => JSON.parse(readFileSync(dir + file, 'utf8'));

/** The `bridge/devices` entries (2.x, or `1.x`): the coordinator first, then the devices of these models, in order. */
export function fixtureDevices(models: string[], version: '2.x' | '1.x' = '2.x'): Array<Record<string, any>> {
  const all = read(version === '2.x' ? 'bridge-devices.json' : 'bridge-devices-1.x.json') as Array<Record<string, any>>;
  const coordinator = all.find((d) => d.type === 'Coordinator');
  if (!coordinator) throw new Error('no coordinator in the device list');
  const picked = models.map((m) => {
    const d = all.find((x) => x.definition?.model === m);
    if (!d) throw new Error(`no fixture device of model ${m}`);
    return d;
  });
  return [coordinator, ...picked];
}

interface Publish {
  note: string;
  alarm?: boolean;
  payload: Record<string, any>;
}

/** Every recorded whole-state publish of a model (the first sequence: Z2M 2.x), in order. */
export function fixturePublishes(model: string): Publish[] {
  const f = read(`state-${model.toLowerCase()}.json`) as { sequences: Array<{ publishes: Publish[] }> };
  return f.sequences[0]!.publishes;
}

/** A recorded state: `alarm` (the first alarming publish) or `normal` (the first with its alarm false). */
export function fixtureState(model: string, which: 'alarm' | 'normal'): Record<string, any> {
  const all = fixturePublishes(model);
  const p =
    which === 'alarm' ? all.find((x) => x.alarm === true) : all.find((x, i) => x.alarm !== true && i > 0 && all.slice(0, i).every((y) => y.alarm !== true));
  const found = p ?? (which === 'normal' ? all[0] : undefined);
  if (!found) throw new Error(`no ${which} state for ${model}`);
  return found.payload;
}
