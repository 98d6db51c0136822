/** Reads the recorded Zigbee2MQTT shapes in test/fixtures/z2m/ (see its README for their sources). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../fixtures/z2m/', import.meta.url));
const read = (file: string): any => JSON.parse(readFileSync(dir + file, 'utf8'));

/** The `bridge/devices` entries: the coordinator first, then the devices of these models, in order. */
export function fixtureDevices(models: string[]): Array<Record<string, any>> {
  const all = read('bridge-devices.json') as Array<Record<string, any>>;
  const coordinator = all.find((d) => d.type === 'Coordinator');
  if (!coordinator) throw new Error('no coordinator in bridge-devices.json');
  const picked = models.map((m) => {
    const d = all.find((x) => x.definition?.model === m);
    if (!d) throw new Error(`no fixture device of model ${m}`);
    return d;
  });
  return [coordinator, ...picked];
}

/** A recorded whole-state payload of a model (`alarm`, `normal`, …). */
export function fixtureState(model: string, which: string): Record<string, any> {
  const states = read(`state-${model}.json`) as Record<string, Record<string, any>>;
  const s = states[which];
  if (!s) throw new Error(`no ${which} state for ${model}`);
  return s;
}
