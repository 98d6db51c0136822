import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineFramer, MAX_LINE_BYTES, parseBoardLine, formatAlarm, formatError, formatStandDown } from '../../../firmware-bridge/serial-line-protocol.ts';

const NOW = Date.UTC(2026, 5, 1);

test('framer splits lines, strips CR, ignores empty lines, keeps partial lines across chunks', () => {
  const f = new LineFramer();
  assert.deepEqual(f.push(Buffer.from('HELLO 1.0\r\n\r\nEVENT sm')), [{ ok: true, text: 'HELLO 1.0' }]);
  assert.deepEqual(f.push(Buffer.from('oke 412\n')), [{ ok: true, text: 'EVENT smoke 412' }]);
});

test('framer refuses over-long lines once and resynchronises at the next newline, with bounded memory', () => {
  const f = new LineFramer();
  const long = 'X'.repeat(MAX_LINE_BYTES + 1);
  assert.deepEqual(f.push(Buffer.from(`${long}\nOK1\n`)), [
    { ok: false, reason: 'oversize' },
    { ok: true, text: 'OK1' },
  ]);
  // A never-ending line arriving in chunks: one error, then silence until the newline.
  const out = [];
  for (let i = 0; i < 1000; i++) out.push(...f.push(Buffer.alloc(64, 0x41)));
  assert.deepEqual(out, [{ ok: false, reason: 'oversize' }]);
  assert.deepEqual(f.push(Buffer.from('tail\nEVENT panic\n')), [{ ok: true, text: 'EVENT panic' }]);
  // Exactly the limit is fine, CRLF included.
  assert.deepEqual(f.push(Buffer.from(`${'Y'.repeat(MAX_LINE_BYTES)}\r\n`)), [{ ok: true, text: 'Y'.repeat(MAX_LINE_BYTES) }]);
});

test('framer refuses binary and non-ASCII lines', () => {
  const f = new LineFramer();
  assert.deepEqual(f.push(Buffer.from([0x45, 0x00, 0xff, 0x0a])), [{ ok: false, reason: 'binary' }]);
  assert.deepEqual(f.push(Buffer.from('EVENT khói\n')), [{ ok: false, reason: 'binary' }]);
});

test('HELLO, EVENT and TELEMETRY parse into board lines', () => {
  assert.deepEqual(parseBoardLine('HELLO smokehub-serial/1.2', NOW), { ok: true, line: { kind: 'hello', firmware: 'smokehub-serial/1.2' } });
  assert.deepEqual(parseBoardLine('EVENT smoke 412', NOW), { ok: true, line: { kind: 'event', type: 'smoke', level: 412 } });
  assert.deepEqual(parseBoardLine('event PANIC', NOW), { ok: true, line: { kind: 'event', type: 'panic' } });
  assert.deepEqual(parseBoardLine('TELEMETRY smoke=120 temperature=31.5 battery=88', NOW), {
    ok: true,
    line: { kind: 'telemetry', values: { smoke: 120, temperature: 31.5, battery: 88 }, rejected: [] },
  });
});

test('bad lines are refused with a stable reason', () => {
  const reason = (l: string) => {
    const r = parseBoardLine(l, NOW);
    return r.ok ? 'ok' : `${r.reason}${r.detail ? ' ' + r.detail : ''}`;
  };
  assert.equal(reason('FIRE!'), 'unknown_command FIRE!');
  assert.equal(reason('EVENT'), 'bad_syntax EVENT <type> [level]');
  assert.equal(reason('EVENT fire'), 'unknown_type fire');
  assert.equal(reason('EVENT smoke lots'), 'bad_level lots');
  assert.equal(reason('EVENT smoke Infinity'), 'bad_level Infinity');
  assert.equal(reason('EVENT smoke 1 2'), 'bad_syntax EVENT <type> [level]');
  assert.equal(reason('HELLO'), 'bad_syntax HELLO needs a firmware version of 1..32 characters');
  assert.equal(reason('TELEMETRY'), 'no_fields TELEMETRY key=value ...');
  assert.equal(reason('TELEMETRY pressure=1013'), 'unknown_field pressure');
  assert.equal(reason('TELEMETRY smoke=abc'), 'bad_value smoke');
  assert.equal(reason('TELEMETRY smoke=0x10'), 'bad_value smoke');
  assert.equal(reason('TELEMETRY humidity=140'), 'out_of_range humidity');
  assert.equal(reason('TELEMETRY smoke'), 'bad_syntax smoke');
});

test('telemetry keeps the valid fields and reports the refused ones', () => {
  const r = parseBoardLine('TELEMETRY smoke=80 rssi=12 color=3 battery=x', NOW);
  assert.ok(r.ok && r.line.kind === 'telemetry');
  assert.deepEqual(r.line.values, { smoke: 80 });
  assert.deepEqual(r.line.rejected.map((x) => `${x.reason}:${x.key}`).sort(), ['bad_value:battery', 'out_of_range:rssi', 'unknown_field:color']);
});

test('bridge → board lines are single printable lines within the limit', () => {
  assert.equal(formatAlarm('smoke', 'hg-t1-h03'), 'ALARM smoke hg-t1-h03');
  assert.equal(formatStandDown('a'.repeat(300)).length, 'STANDDOWN '.length + 100);
  assert.equal(formatError('unknown_field', 'pres sure\n'), 'ERR unknown_field pres_sure_');
  assert.equal(formatError('binary'), 'ERR binary');
  for (const l of [formatAlarm('panic', 'x'.repeat(64)), formatStandDown('y'.repeat(64))]) {
    assert.ok(Buffer.byteLength(l) <= MAX_LINE_BYTES);
    assert.match(l, /^[\x20-\x7e]+$/);
  }
});
