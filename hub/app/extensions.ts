/**
 * The extensions started with the hub, in order (stopped in reverse).
 * Each feature owner adds ONE line here.
 */
import type { HubConfig } from '../config/config.ts';
import type { HubExtension } from './context.ts';
import { telemetryExtension } from '../telemetry/telemetry-extension.ts';
import { supervisionExtension } from '../supervision/supervision-extension.ts';
import { smsExtension } from '../sms/sms-extension.ts';
import { zigbeeExtension } from '../zigbee/zigbee-extension.ts';
import { homeassistantExtension } from '../homeassistant/homeassistant-extension.ts';

export function defaultExtensions(config: HubConfig): HubExtension[] {
  return [
    telemetryExtension(config),
    supervisionExtension(),
    smsExtension(config),
    zigbeeExtension(),
    ...(config.homeassistant ? [homeassistantExtension()] : []),
  ];
}
