/**
 * Assembles one device bridge from validated settings: hub link, durable outbox in the state
 * directory, the board profile (serial line or Firmata), and the glue between them.
 */
import { ConfigError } from '../hub/protocol/errors.ts';
import { join } from 'node:path';
import { DeviceBridge } from './device-bridge.ts';
import { EventOutbox } from './event-outbox.ts';
import { HubLink, type BackoffPolicy } from './hub-link.ts';
import { SerialProfile, type OpenSerialPort } from './serial-profile.ts';
import { FirmataProfile, type FirmataSettings, type OpenFirmataIo } from './firmata-profile.ts';
import type { BoardProfile } from './board-profile.ts';
import { liveClock } from './live-clock.ts';
import type { Clock } from '../hub/core/clock.ts';
import type { Logger } from '../hub/observability/logger.ts';
import { MetricsRegistry } from '../hub/observability/metrics.ts';

export interface BridgeSettings {
  hub: string;
  household: string;
  device: string;
  secret: string;
  /** Directory of the durable outbox. */
  state: string;
  outboxMax: number;
  /** PEM of the CA the hub's TLS certificate is checked against (mqtts:// and wss:// URLs). */
  ca?: string;
  serial?: { path: string; baud: number };
  firmata?: FirmataSettings;
  backoff?: BackoffPolicy;
  authRetryMs?: number;
  resyncMs?: number;
}

export interface BridgeDeps {
  logger: Logger;
  clock?: Clock;
  metrics?: MetricsRegistry;
  openPort?: OpenSerialPort;
  openFirmataIo?: OpenFirmataIo;
}

export interface BuiltBridge {
  bridge: DeviceBridge;
  link: HubLink;
  outbox: EventOutbox;
  profile: BoardProfile;
  metrics: MetricsRegistry;
}

export function buildBridge(s: BridgeSettings, deps: BridgeDeps): BuiltBridge {
  const clock = deps.clock ?? liveClock;
  const metrics = deps.metrics ?? new MetricsRegistry();
  const logger = deps.logger;
  const link = new HubLink({
    url: s.hub,
    household: s.household,
    device: s.device,
    secret: s.secret,
    ca: s.ca,
    logger,
    clock,
    backoff: s.backoff,
    authRetryMs: s.authRetryMs,
  });
  const outbox = new EventOutbox(join(s.state), { maxEntries: s.outboxMax, file: `outbox-${s.device}.db` });
  let profile: BoardProfile;
  if (s.serial) {
    profile = new SerialProfile({ path: s.serial.path, baud: s.serial.baud, logger, clock, metrics, openPort: deps.openPort });
  } else if (s.firmata) {
    profile = new FirmataProfile({ ...s.firmata, logger, clock, metrics, openIo: deps.openFirmataIo });
  } else {
    throw new ConfigError('a bridge needs a board: --serial PATH or --firmata PATH');
  }
  const bridge = new DeviceBridge({ household: s.household, device: s.device, link, outbox, profile, logger, clock, metrics, resyncMs: s.resyncMs });
  return { bridge, link, outbox, profile, metrics };
}
