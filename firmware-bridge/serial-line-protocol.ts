/**
 * The serial line protocol between a board running its own firmware and the bridge
 * (docs/serial-protocol.md). Pure: framing of raw bytes into bounded lines, parsing of
 * board → bridge lines, formatting of bridge → board lines. Never throws on input.
 *
 *   board → bridge:  HELLO <firmware>  |  EVENT <type> [level]  |  TELEMETRY key=value ...
 *   bridge → board:  ALARM <kind> <origin>  |  STANDDOWN <alarm>  |  TEST  |  SILENCE  |  OK  |  ERR <reason> [detail]
 */
import { EVENT_TYPES, TELEMETRY_FIELDS, validateTelemetryObject, type AlarmKind, type EventType, type TelemetryField } from '../hub/protocol/schema.ts';

/** Longest line, in bytes, without its `\n` (a `\r` before it is tolerated and not counted). */
export const MAX_LINE_BYTES = 128;
/** Longest firmware version string in `HELLO`. */
export const MAX_FIRMWARE_LENGTH = 32;

/** Why a board line was refused: the first word of the `ERR` answer, stable for firmware authors. */
export const SERIAL_ERRORS = [
  'oversize',
  'binary',
  'unknown_command',
  'bad_syntax',
  'unknown_type',
  'bad_level',
  'unknown_field',
  'bad_value',
  'out_of_range',
  'no_fields',
] as const;
export type SerialErrorReason = (typeof SERIAL_ERRORS)[number];

export type BoardLine =
  | { kind: 'hello'; firmware: string }
  | { kind: 'event'; type: EventType; level?: number }
  | {
      kind: 'telemetry';
      values: Partial<Record<TelemetryField, number>>;
      /** Fields that were refused; the valid ones are still kept. */
      rejected: Array<{ reason: SerialErrorReason; key: string }>;
    };

export type ParseResult = { ok: true; line: BoardLine } | { ok: false; reason: SerialErrorReason; detail?: string };

/** A framed line: its text, or the reason it cannot be a line. */
export type FramedLine = { ok: true; text: string } | { ok: false; reason: 'oversize' | 'binary' };

/**
 * Splits a byte stream into lines of at most MAX_LINE_BYTES. Memory is bounded: an over-long
 * line is reported once and its remaining bytes are discarded up to the next `\n`.
 */
export class LineFramer {
  private buf: Buffer = Buffer.alloc(0);
  private discarding = false;

  constructor(private readonly maxBytes = MAX_LINE_BYTES) {}

  push(chunk: Buffer): FramedLine[] {
    const out: FramedLine[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl);
      if (this.discarding) {
        if (nl === -1) break;
        this.discarding = false;
      } else {
        if (this.buf.length + piece.length > this.maxBytes + 1) {
          // +1 tolerates the `\r` of a CRLF ending; checked precisely below once the line is complete.
          out.push({ ok: false, reason: 'oversize' });
          this.buf = Buffer.alloc(0);
          if (nl === -1) {
            this.discarding = true;
            break;
          }
        } else if (nl === -1) {
          this.buf = this.buf.length === 0 ? Buffer.from(piece) : Buffer.concat([this.buf, piece]);
          break;
        } else {
          const line = this.buf.length === 0 ? piece : Buffer.concat([this.buf, piece]);
          this.buf = Buffer.alloc(0);
          const framed = frameLine(line, this.maxBytes);
          if (framed) out.push(framed);
        }
      }
      start = nl + 1;
      if (start >= chunk.length) break;
    }
    return out;
  }

  /** Forgets a partial line (the port was closed and reopened). */
  reset(): void {
    this.buf = Buffer.alloc(0);
    this.discarding = false;
  }
}

function frameLine(raw: Buffer, maxBytes: number): FramedLine | null {
  const line = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
  if (line.length > maxBytes) return { ok: false, reason: 'oversize' };
  for (const b of line) {
    // Printable ASCII and tab only: anything else is line noise, a wrong baud rate or binary data.
    if (b !== 0x09 && (b < 0x20 || b > 0x7e)) return { ok: false, reason: 'binary' };
  }
  const text = line.toString('ascii').trim();
  // Empty lines (a board printing "\r\n" at boot) are ignored, not errors.
  return text.length === 0 ? null : { ok: true, text };
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(s: string): number | null {
  if (!NUMBER.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** Parses one framed line from the board. */
export function parseBoardLine(text: string, now: number): ParseResult {
  const words = text.split(/[ \t]+/).filter((w) => w.length > 0);
  const command = (words[0] ?? '').toUpperCase();
  const args = words.slice(1);
  switch (command) {
    case 'HELLO': {
      const fw = args.join(' ');
      if (args.length === 0 || fw.length > MAX_FIRMWARE_LENGTH) {
        return { ok: false, reason: 'bad_syntax', detail: `HELLO needs a firmware version of 1..${MAX_FIRMWARE_LENGTH} characters` };
      }
      return { ok: true, line: { kind: 'hello', firmware: fw } };
    }
    case 'EVENT': {
      if (args.length < 1 || args.length > 2) return { ok: false, reason: 'bad_syntax', detail: 'EVENT <type> [level]' };
      const type = args[0]!.toLowerCase();
      if (!(EVENT_TYPES as readonly string[]).includes(type)) return { ok: false, reason: 'unknown_type', detail: args[0]!.slice(0, 16) };
      if (args.length === 2) {
        const level = parseNumber(args[1]!);
        if (level === null) return { ok: false, reason: 'bad_level', detail: args[1]!.slice(0, 16) };
        return { ok: true, line: { kind: 'event', type: type as EventType, level } };
      }
      return { ok: true, line: { kind: 'event', type: type as EventType } };
    }
    case 'TELEMETRY': {
      if (args.length === 0) return { ok: false, reason: 'no_fields', detail: 'TELEMETRY key=value ...' };
      const rejected: Array<{ reason: SerialErrorReason; key: string }> = [];
      const candidate: Record<string, unknown> = {};
      for (const pair of args) {
        const eq = pair.indexOf('=');
        if (eq <= 0) {
          rejected.push({ reason: 'bad_syntax', key: pair.slice(0, 16) });
          continue;
        }
        const key = pair.slice(0, eq).toLowerCase();
        const raw = pair.slice(eq + 1);
        if (!(key in TELEMETRY_FIELDS)) {
          rejected.push({ reason: 'unknown_field', key: key.slice(0, 16) });
          continue;
        }
        const n = parseNumber(raw);
        if (n === null) {
          rejected.push({ reason: 'bad_value', key });
          continue;
        }
        candidate[key] = n;
      }
      // Ranges are the shared schema's: the hub would refuse the same values.
      const checked = Object.keys(candidate).length > 0 ? validateTelemetryObject(candidate, now) : null;
      const values: Partial<Record<TelemetryField, number>> = checked?.ok ? checked.value.values : {};
      const issues = checked === null ? [] : checked.ok ? checked.warnings : checked.issues;
      for (const issue of issues) rejected.push({ reason: 'out_of_range', key: issue.field ?? '?' });
      if (Object.keys(values).length === 0) {
        const first = rejected[0];
        return first ? { ok: false, reason: first.reason, detail: first.key } : { ok: false, reason: 'no_fields' };
      }
      return { ok: true, line: { kind: 'telemetry', values, rejected } };
    }
    default:
      return { ok: false, reason: 'unknown_command', detail: command.slice(0, 16) };
  }
}

/** Keeps a word of a bridge → board line within the printable, space-free alphabet. */
function word(s: string, max = 64): string {
  const w = s.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return w.length > 0 ? w : '_';
}

export function formatAlarm(kind: AlarmKind, originHousehold: string): string {
  return `ALARM ${kind} ${word(originHousehold)}`;
}
export function formatStandDown(alarmId: string): string {
  return `STANDDOWN ${word(alarmId, 100)}`;
}
export const formatTest = (): string => 'TEST';
export const formatSilence = (): string => 'SILENCE';
export const formatOk = (): string => 'OK';
export function formatError(reason: SerialErrorReason, detail?: string): string {
  return detail ? `ERR ${reason} ${word(detail, 32)}` : `ERR ${reason}`;
}
