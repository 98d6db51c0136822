/**
 * The simulator's transcripts, byte for byte, in the forms of the SIM800 Series AT Command Manual
 * V1.09 (V.25ter framing `<CR><LF>text<CR><LF>`, echo at power-up §2.2.7, AT+CMGS in PDU mode
 * §4.2.5 with the `<CR><LF><greater_than><space>` prompt, +CMTI §4.2.8, AT+CMGR §4.2.4, AT+CLCC
 * §3.2.16) — so the adapter tested against it is tested against what a real modem prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModemSimulator } from '../../helpers/modem-simulator.ts';
import { decodePdu } from '../../../hub/sms/pdu.ts';
import { FakeModemStream, waitFor } from '../../helpers/sms-test-kit.ts';

function rig(opts: ConstructorParameters<typeof ModemSimulator>[0] = {}) {
  const line = new FakeModemStream();
  const sim = new ModemSimulator({ smsLatencyMs: 5, ...opts });
  sim.attach(line);
  let seen = 0;
  /** Types `input` and returns what the modem printed once `until` appears. */
  const exchange = async (input: string, until: string | RegExp) => {
    line.reply(input);
    const out = await waitFor(
      () => {
        const all = line.written.join('').slice(seen);
        return (typeof until === 'string' ? all.includes(until) : until.test(all)) ? all : null;
      },
      3000,
      `modem output ${String(until)}`,
    );
    seen += out.length;
    return out;
  };
  return { sim, exchange };
}

test('echo on at power-up until ATE0; every result code framed CR LF … CR LF', async (t) => {
  const { sim, exchange } = rig();
  t.after(() => sim.dispose());
  assert.equal(await exchange('AT\r', 'OK\r\n'), 'AT\r\r\nOK\r\n');
  assert.equal(await exchange('ATE0\r', 'OK\r\n'), 'ATE0\r\r\nOK\r\n');
  assert.equal(await exchange('AT\r', 'OK\r\n'), '\r\nOK\r\n');
  assert.equal(await exchange('AT+CSQ\r', 'OK\r\n'), '\r\n+CSQ: 21,0\r\n\r\nOK\r\n');
  assert.equal(await exchange('AT+CREG?\r', 'OK\r\n'), '\r\n+CREG: 0,1\r\n\r\nOK\r\n');
  assert.equal(await exchange('AT+NOPE\r', 'ERROR\r\n'), '\r\nERROR\r\n');
});

test('AT+CMGS=<length> in PDU mode: prompt, PDU, Ctrl-Z, +CMGS: <mr> and OK; recorded decoded', async (t) => {
  const { sim, exchange } = rig();
  t.after(() => sim.dispose());
  await exchange('ATE0\r', 'OK\r\n');
  assert.equal(await exchange('AT+CMGS=23\r', '> '), '\r\n> ');
  assert.equal(await exchange('0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a', 'OK\r\n'), '\r\n+CMGS: 1\r\n\r\nOK\r\n');
  assert.deepEqual(
    sim.sent.map((s) => [s.to, s.text, s.parts, s.refs]),
    [['+46708251358', 'hellohello', 1, [1]]],
  );
  // A wrong <length> is refused like a modem does (invalid PDU mode parameter).
  await exchange('AT+CMEE=1\r', 'OK\r\n');
  await exchange('AT+CMGS=22\r', '> ');
  assert.equal(await exchange('0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a', 'ERROR'), '\r\n+CMS ERROR: 304\r\n');
  // Fault injection.
  sim.failNextSms(500);
  await exchange('AT+CMGS=23\r', '> ');
  assert.equal(await exchange('0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a', 'ERROR'), '\r\n+CMS ERROR: 500\r\n');
});

test('incoming SMS: +CMTI: "SM",<index>, AT+CMGR=<index> with the SMS-DELIVER PDU, AT+CMGD', async (t) => {
  const { sim, exchange } = rig();
  t.after(() => sim.dispose());
  await exchange('ATE0\r', 'OK\r\n');
  await exchange('AT+CNMI=2,1,0,1,0\r', 'OK\r\n');
  sim.injectSms('+84901000002', '1');
  const cmti = await exchange('', '\r\n');
  assert.equal(cmti, '\r\n+CMTI: "SM",1\r\n');
  const read = await exchange('AT+CMGR=1\r', 'OK\r\n');
  const m = /^\r\n\+CMGR: 0,,(\d+)\r\n([0-9A-F]+)\r\n\r\nOK\r\n$/.exec(read);
  assert.ok(m, read);
  const d = decodePdu(m[2]!);
  assert.equal(d.type === 'deliver' && `${d.from} ${d.text}`, '+84901000002 1');
  assert.equal(Number(m[1]), m[2]!.length / 2 - 8, '<length> counts the TPDU octets only (SMSC address 8 octets)');
  assert.equal(await exchange('AT+CMGL=4\r', 'OK\r\n'), `\r\n+CMGL: 1,1,,${m[1]}\r\n${m[2]}\r\n\r\nOK\r\n`, 'read now: stat 1');
  await exchange('AT+CMGD=1\r', 'OK\r\n');
  assert.equal(sim.storedCount(), 0);
});

test('a voice call: ATD…; OK at once, AT+CLCC dialing → alerting → active, ATH', async (t) => {
  const { sim, exchange } = rig({ dialMs: 30 });
  t.after(() => sim.dispose());
  sim.scriptCall('+84901000002', { answerAfterMs: 30 });
  await exchange('ATE0\r', 'OK\r\n');
  assert.equal(await exchange('ATD+84901000002;\r', 'OK\r\n'), '\r\nOK\r\n');
  assert.equal(await exchange('AT+CLCC\r', 'OK\r\n'), '\r\n+CLCC: 1,0,2,0,0,"+84901000002",145\r\n\r\nOK\r\n');
  await waitFor(() => sim.calls[0]!.alerted, 2000, 'alerting');
  assert.match(await exchange('AT+CLCC\r', 'OK\r\n'), /\+CLCC: 1,0,3,0,0,/);
  await waitFor(() => sim.calls[0]!.answeredAt, 2000, 'answered');
  assert.match(await exchange('AT+CLCC\r', 'OK\r\n'), /\+CLCC: 1,0,0,0,0,/);
  await exchange('ATH\r', 'OK\r\n');
  assert.equal(await exchange('AT+CLCC\r', 'OK\r\n'), '\r\nOK\r\n', 'no call listed: only OK');
  assert.equal(sim.calls[0]!.endedBy, 'hub');
  // Busy: the modem prints BUSY by itself.
  sim.scriptCall('0901000003', { busyAfterMs: 10 });
  await exchange('ATD0901000003;\r', 'OK\r\n');
  assert.equal(await exchange('', 'BUSY'), '\r\nBUSY\r\n');
});

test('SIM PIN: +CPIN: SIM PIN, a wrong PIN is +CME ERROR: 16, three of them need the PUK', async (t) => {
  const { sim, exchange } = rig({ pin: '1234' });
  t.after(() => sim.dispose());
  await exchange('ATE0\r', 'OK\r\n');
  await exchange('AT+CMEE=1\r', 'OK\r\n');
  assert.equal(await exchange('AT+CPIN?\r', 'OK\r\n'), '\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n');
  assert.equal(await exchange('AT+CREG?\r', 'OK\r\n'), '\r\n+CREG: 0,0\r\n\r\nOK\r\n', 'not registered before the PIN');
  assert.equal(await exchange('AT+CPIN="1234"\r', 'SMS Ready\r\n'), '\r\nOK\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n');
  sim.powerCycle();
  await exchange('ATE0\r', 'OK\r\n');
  await exchange('AT+CMEE=1\r', 'OK\r\n');
  for (let i = 0; i < 3; i++) assert.equal(await exchange('AT+CPIN="0000"\r', '\r\n+CME'), '\r\n+CME ERROR: 16\r\n');
  assert.equal(await exchange('AT+CPIN?\r', 'OK\r\n'), '\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n');
  assert.ok(!sim.transcript.some((l) => l.includes('1234')), 'the PIN is not in the transcript');
});
