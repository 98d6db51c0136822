/**
 * The AT channel against a fake serial stream: final result codes, intermediate lines, echo, the
 * `> ` prompt with Ctrl-Z, and unsolicited result codes arriving anywhere — between commands, in
 * the middle of an answer, split across reads — without confusing the command in progress.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AtChannel, AtError, parseUrc, type Urc } from '../../../hub/sms/at-channel.ts';
import { ManualClock } from '../../../hub/core/clock.ts';
import { FakeModemStream, flush } from '../../helpers/sms-test-kit.ts';

function rig(timeoutMs = 5000) {
  const stream = new FakeModemStream();
  const clock = new ManualClock();
  const ch = new AtChannel(stream, { clock, timeoutMs });
  const urcs: Urc[] = [];
  ch.on('urc', (u: Urc) => urcs.push(u));
  return { stream, clock, ch, urcs };
}

test('OK with intermediate lines; echo of the command ignored; commands go one at a time', async () => {
  const { stream, ch } = rig();
  const csq = ch.send('AT+CSQ');
  const creg = ch.send('AT+CREG?');
  await flush();
  assert.deepEqual(stream.written, ['AT+CSQ\r'], 'the second command waits for the first');
  stream.reply('AT+CSQ\r\r\n+CSQ: 21,0\r\n\r\nOK\r\n'); // echo on, as after power-up
  assert.deepEqual((await csq).lines, ['+CSQ: 21,0']);
  await flush();
  assert.deepEqual(stream.written, ['AT+CSQ\r', 'AT+CREG?\r']);
  stream.reply('\r\n+CREG: 0,1\r\n\r\nOK\r\n');
  assert.deepEqual((await creg).lines, ['+CREG: 0,1'], 'its own +CREG: line is the answer, not a URC');
});

test('ERROR, +CME ERROR and +CMS ERROR reject with their kind and number', async () => {
  const { stream, ch } = rig();
  const a = ch.send('AT+CMEE=1');
  stream.reply('\r\nERROR\r\n');
  await assert.rejects(a, (e: AtError) => e.kind === 'error' && e.command === 'AT+CMEE=1');
  const b = ch.send('AT+CPIN?');
  await flush();
  stream.reply('\r\n+CME ERROR: 10\r\n');
  await assert.rejects(b, (e: AtError) => e.kind === 'cme' && e.errorCode === 10);
  const c = ch.send('AT+CMGL=4');
  await flush();
  stream.reply('\r\n+CMS ERROR: SIM busy\r\n');
  await assert.rejects(c, (e: AtError) => e.kind === 'cms' && Number.isNaN(e.errorCode));
});

test('AT+CMGS: the PDU and Ctrl-Z follow the "> " prompt; RING and +CMTI inside the answer are URCs', async () => {
  const { stream, ch, urcs } = rig();
  const pdu = '0011000B916407281553F80000AA0AE8329BFD4697D9EC37';
  const sent = ch.send('AT+CMGS=23', { payload: pdu });
  await flush();
  assert.deepEqual(stream.written, ['AT+CMGS=23\r'], 'nothing before the prompt');
  stream.reply('\r\n> ');
  assert.equal(await stream.nextWrite((s) => s.endsWith('\x1a')), `${pdu}\x1a`);
  // Echo of the typed PDU (ATE1), then the answer with URCs in the middle of it.
  stream.reply(`${pdu}\x1a\r\n+CMGS: 7\r\n\r\nRING\r\n\r\n+CMTI: "SM",3\r\n\r\nOK\r\n`);
  assert.deepEqual((await sent).lines, ['+CMGS: 7']);
  assert.deepEqual(urcs, [{ kind: 'ring' }, { kind: 'cmti', mem: 'SM', index: 3 }]);
});

test('a +CMT URC with its PDU line in the middle of an AT+CMGL listing, split byte by byte', async () => {
  const { stream, ch, urcs } = rig();
  const listing = ch.send('AT+CMGL=4');
  await flush();
  const text = '\r\n+CMGL: 1,0,,24\r\n0791AA\r\n\r\n+CMT: ,23\r\n0011BB\r\n\r\n+CMGL: 2,1,,25\r\n0791CC\r\n\r\nOK\r\n';
  for (const ch of text) stream.reply(ch);
  assert.deepEqual((await listing).lines, ['+CMGL: 1,0,,24', '0791AA', '+CMGL: 2,1,,25', '0791CC']);
  assert.deepEqual(urcs, [{ kind: 'cmt', pdu: '0011BB' }]);
});

test('idle URCs: +CDS with PDU, +CREG, NO CARRIER, boot lines; stray OK of a timed-out command', async () => {
  const { stream, urcs } = rig();
  stream.reply('\r\n+CDS: 25\r\n00060C0B914809010000F2621103802030826211038020908200\r\n\r\n+CREG: 5\r\n');
  stream.reply('\r\nNO CARRIER\r\n\r\nRDY\r\n\r\nOK\r\n\r\n+CEREG: 1,"00C3","0010"\r\n');
  await flush();
  assert.deepEqual(urcs, [
    { kind: 'cds', pdu: '00060C0B914809010000F2621103802030826211038020908200' },
    { kind: 'creg', stat: 5 },
    { kind: 'call-end', result: 'NO CARRIER' },
    { kind: 'other', line: 'RDY' },
    { kind: 'other', line: 'OK' },
    { kind: 'cereg', stat: 1 },
  ]);
});

test('ATD: BUSY is its final result; NO CARRIER during another command is a URC', async () => {
  const { stream, ch, urcs } = rig();
  const dial = ch.send('ATD+84901000002;');
  await flush();
  stream.reply('\r\nBUSY\r\n');
  await assert.rejects(dial, (e: AtError) => e.kind === 'call' && e.message === 'BUSY');
  const clcc = ch.send('AT+CLCC');
  await flush();
  stream.reply('\r\n+CLCC: 1,0,3,0,0,"+84901000002",145\r\n\r\nNO CARRIER\r\n\r\nOK\r\n');
  assert.deepEqual((await clcc).lines, ['+CLCC: 1,0,3,0,0,"+84901000002",145']);
  assert.deepEqual(urcs, [{ kind: 'call-end', result: 'NO CARRIER' }]);
});

test('timeout: rejected, ESC cancels a pending prompt, the next command runs', async () => {
  const { stream, clock, ch } = rig(1000);
  const s = ch.send('AT+CMGS=23', { payload: '00', timeoutMs: 2000 });
  const next = ch.send('AT');
  await flush();
  clock.advance(2000);
  await assert.rejects(s, (e: AtError) => e.kind === 'timeout' && e.payloadSent === false);
  assert.deepEqual(stream.written.slice(0, 3), ['AT+CMGS=23\r', '\x1b', 'AT\r']);
  stream.reply('\r\nOK\r\n');
  await next;
});

test('a closed stream rejects the running and the queued commands as closed, with payloadSent', async () => {
  const { stream, ch } = rig();
  const closed: string[] = [];
  ch.on('close', (r: string) => closed.push(r));
  const s = ch.send('AT+CMGS=10', { payload: 'AB' });
  const q = ch.send('AT+CSQ');
  stream.reply('\r\n> ');
  await stream.nextWrite((w) => w === 'AB\x1a');
  stream.destroy();
  await assert.rejects(s, (e: AtError) => e.kind === 'closed' && e.payloadSent === true);
  await assert.rejects(q, (e: AtError) => e.kind === 'closed' && e.payloadSent === false);
  assert.equal(closed.length, 1);
  await assert.rejects(ch.send('AT'), (e: AtError) => e.kind === 'closed');
});

test('parseUrc recognises the URC forms of TS 27.005/27.007 and SIM800', () => {
  assert.deepEqual(parseUrc('+CMTI: "ME",12'), { kind: 'cmti', mem: 'ME', index: 12 });
  assert.deepEqual(parseUrc('+CDSI: "SR",2'), { kind: 'cdsi', mem: 'SR', index: 2 });
  assert.equal(parseUrc('+CMT: "",24'), 'cmt');
  assert.equal(parseUrc('+CMT: ,24'), 'cmt');
  assert.equal(parseUrc('+CDS: 25'), 'cds');
  assert.deepEqual(parseUrc('+CLIP: "+84901000002",145,"",0,"",0'), { kind: 'clip', number: '+84901000002' });
  assert.deepEqual(parseUrc('NO ANSWER'), { kind: 'call-end', result: 'NO ANSWER' });
  assert.deepEqual(parseUrc('Call Ready'), { kind: 'other', line: 'Call Ready' });
  assert.equal(parseUrc('+CSQ: 21,0'), null);
});
