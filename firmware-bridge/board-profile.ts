/**
 * What the bridge needs from a board, whichever firmware it runs (Firmata or the serial line
 * protocol). A profile turns hardware into these events and these calls into sound and light.
 */
import type { EventEmitter } from 'node:events';
import type { AlarmKind, EventType, TelemetryField } from '../hub/protocol/schema.ts';

export interface SoundRequest {
  alarm: string;
  kind: AlarmKind;
  origin: string;
  own: boolean;
}

export interface BoardProfileEvents {
  /** The board raised an event (smoke, clear, panic, fault, test, hush, ...). */
  event: [type: EventType, level: number | undefined];
  telemetry: [values: Partial<Record<TelemetryField, number>>];
  /** A local button press meant as "silence" (or "hush" during the household's own pre-alarm) or a panic. */
  press: [];
  /** A long press: always a panic. */
  hold: [];
  /** The board is (again) answering. */
  up: [info: string];
  /** The board stopped answering or its port went away. */
  down: [reason: string];
}

export interface BoardProfile extends EventEmitter<BoardProfileEvents> {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Start (or keep) sounding for an alarm. */
  sound(req: SoundRequest): void;
  /** An alarm was cancelled or resolved. */
  standDown(alarm: string): void;
  /** Nothing is sounding any more: quiet. */
  silence(): void;
  /** The hub asked for a self-test: exercise the sounder, answer with a `test` event. */
  test(): void;
}
