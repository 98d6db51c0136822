/**
 * GsmModem end to end through the REAL serialport binding, on a socat PTY pair with the modem
 * simulator on the other end: init (echo on, ERROR on optional set-up), SIM PIN, long Vietnamese
 * texts in UCS-2 parts, unaccented GSM-7, incoming replies, status reports, a RING in the middle
 * of a CMGS answer, calls answered / busy / not answered, and the modem unplugged mid-send and
 * plugged back in.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GsmModem, ModemError, type GsmModemOptions, type IncomingSms, type ModemStatus, type DeliveryReport } from '../../../hub/sms/gsm-modem.ts';
import { systemClock } from '../../../hub/core/clock.ts';
import { createLogger, silentLogger } from '../../../hub/observability/logger.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import { hasSocat, killAllSocat, startPtyModem, type PtyModem } from '../../helpers/modem-pty.ts';
import type { SimulatorOptions } from '../../helpers/modem-simulator.ts';
import { waitFor } from '../../helpers/sms-test-kit.ts';

const skip = hasSocat() ? false : 'socat is not installed (apt-get install -y socat)';
after(() => killAllSocat());

interface Rig {
  pty: PtyModem;
  modem: GsmModem;
  statuses: ModemStatus[];
  sms: IncomingSms[];
  delivered: DeliveryReport[];
  rings: number;
}

async function rig(t: { after: (fn: () => unknown) => void }, sim: SimulatorOptions = {}, opts: Partial<GsmModemOptions> = {}, start = true): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-modem-'));
  const pty = await startPtyModem(dir, { smsLatencyMs: 20, dialMs: 50, ...sim });
  const logger = process.env.SMOKEHUB_TEST_LOG ? createLogger({ level: process.env.SMOKEHUB_TEST_LOG, name: 'modem' }) : silentLogger();
  const modem = new GsmModem({
    path: pty.hubPath,
    clock: systemClock,
    logger,
    reopenMs: 150,
    pollMs: 60_000,
    callPollMs: 50,
    answeredHangupMs: 50,
    ...opts,
  });
  const r: Rig = { pty, modem, statuses: [], sms: [], delivered: [], rings: 0 };
  modem.on('status', (s: ModemStatus) => r.statuses.push(s));
  modem.on('sms', (m: IncomingSms) => r.sms.push(m));
  modem.on('delivered', (d: DeliveryReport) => r.delivered.push(d));
  modem.on('ring', () => r.rings++);
  t.after(async () => {
    await modem.stop();
    await pty.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  if (start) await modem.start();
  return r;
}

const VI300 =
  'Báo cháy! Nhà ông Nguyễn Văn Hùng, số 12 ngõ 5 phố Hồng Gai, Hạ Long đang có khói. Trả lời 1 nếu bạn đến, 2 nếu không thể đến, 3 nếu cần gọi cứu hỏa. '
    .repeat(3)
    .slice(0, 300);

describe('GsmModem on a PTY with the modem simulator', { skip }, () => {
  test('init with echo on and ERROR on optional commands: up, registered, signal, SIM ready', async (t) => {
    const r = await rig(t, { errorOn: ['AT+CMEE=1', 'AT+CNMI=2,1,0,1,0', 'AT+CPMS="SM","SM","SM"'] });
    assert.deepEqual(r.modem.status, { up: true, registered: true, signal: 21, sim: 'ready' });
    assert.deepEqual(r.statuses.at(-1), r.modem.status, 'announced');
    const tx = r.pty.sim.transcript.filter((l) => l.startsWith('> ')).map((l) => l.slice(2));
    assert.deepEqual(tx.slice(0, 2), ['AT', 'ATE0'], 'echo was on: the first answers carried the echo');
    for (const c of ['AT+CMGF=0', 'AT+CNMI=2,1', 'AT+CREG?', 'AT+CSQ', 'AT+CMGL=4']) assert.ok(tx.includes(c), `${c} sent`);
    // The optional commands were refused and init went on; the answers with echo did not confuse it.
    assert.ok(tx.indexOf('AT+CNMI=2,1') > tx.indexOf('AT+CNMI=2,1,0,1,0'), 'fell back to AT+CNMI=2,1');
  });

  test('a modem that keeps echo on (ATE0 refused): SMS out and in still work', async (t) => {
    const r = await rig(t, { errorOn: ['ATE0'] });
    assert.deepEqual(r.modem.status, { up: true, registered: true, signal: 21, sim: 'ready' });
    assert.deepEqual(await r.modem.sendSms('+84901000002', VI300), { parts: 5, refs: [1, 2, 3, 4, 5] });
    assert.equal(r.pty.sim.sent[0]!.text, VI300);
    r.pty.sim.injectSms('+84901000002', '2');
    await waitFor(() => r.sms.length === 1, 3000, 'the reply');
    assert.equal(r.sms[0]!.text, '2');
  });

  test('a 300-character Vietnamese text goes as 5 UCS-2 parts and arrives joined; status reports come back', async (t) => {
    const r = await rig(t, { statusReport: { delayMs: 10, status: 0 } });
    const res = await r.modem.sendSms('+84901000002', VI300);
    assert.equal(res.parts, 5);
    assert.equal(res.refs.length, 5);
    const got = r.pty.sim.sent;
    assert.equal(got.length, 1);
    assert.deepEqual([got[0]!.to, got[0]!.text, got[0]!.alphabet, got[0]!.parts, got[0]!.statusReport], ['+84901000002', VI300, 'ucs2', 5, true]);
    await waitFor(() => r.delivered.length === 5, 3000, 'five status reports');
    assert.deepEqual(
      r.delivered.map((d) => d.ref).sort((a, b) => a - b),
      [...res.refs].sort((a, b) => a - b),
    );
    assert.ok(r.delivered.every((d) => d.ok && d.recipient === '+84901000002'));
  });

  test('unaccented: GSM-7 without diacritics; plain text goes GSM-7 by itself', async (t) => {
    const r = await rig(t);
    const res = await r.modem.sendSms('0901000003', 'Cháy tại nhà ông Đức, ngõ 5 — trả lời 1', { unaccented: true });
    assert.equal(res.parts, 1);
    assert.deepEqual(
      r.pty.sim.sent.map((s) => [s.to, s.text, s.alphabet]),
      [['0901000003', 'Chay tai nha ong Duc, ngo 5 - tra loi 1', 'gsm7']],
    );
    await r.modem.sendSms('+84901000004', 'Reply 1 coming, 2 cannot come, 3 need help');
    assert.equal(r.pty.sim.sent[1]!.alphabet, 'gsm7');
    await assert.rejects(r.modem.sendSms('not-a-number', 'x'), (e: ModemError) => e.code === 'bad_request' && !e.retryable);
  });

  test('incoming: a "1" reply reaches the sms event and is deleted; a stored one is read at start; multipart joined', async (t) => {
    const r = await rig(t, {}, {}, false);
    r.pty.sim.injectSms('+84901000005', 'Tin nhắn cũ');
    await r.modem.start();
    await waitFor(() => r.sms.length === 1, 3000, 'the stored message');
    assert.equal(r.sms[0]!.text, 'Tin nhắn cũ');
    r.pty.sim.injectSms('+84901000002', '1');
    await waitFor(() => r.sms.length === 2, 3000, 'the reply');
    assert.deepEqual([r.sms[1]!.from, r.sms[1]!.text, r.sms[1]!.parts], ['+84901000002', '1', 1]);
    assert.ok(typeof r.sms[1]!.at === 'number' && r.sms[1]!.at > 0);
    await waitFor(() => r.pty.sim.storedCount() === 0, 3000, 'deleted from the SIM');
    r.pty.sim.injectSms('+84901000006', VI300, { reverse: true });
    await waitFor(() => r.sms.length === 3, 3000, 'the long message');
    assert.deepEqual([r.sms[2]!.text, r.sms[2]!.parts], [VI300, 5]);
  });

  test('an undecodable PDU from the modem is counted and dropped; the next message still arrives', async (t) => {
    const metrics = new MetricsRegistry();
    const r = await rig(t, {}, { metrics });
    r.pty.sim.unsolicited('+CMT: ,5', '00DEADBEEF');
    r.pty.sim.injectSms('+84901000002', '3');
    await waitFor(() => r.sms.length === 1, 3000, 'the good message');
    assert.equal(r.sms[0]!.text, '3');
    assert.match(await metrics.render(), /smokehub_rejects_total\{channel="modem",reason="bad_pdu"\} 1/);
  });

  test('RING in the middle of a CMGS answer: the SMS resolves with its reference, the ring is an event', async (t) => {
    const r = await rig(t);
    r.pty.sim.interleaveInNextCmgs('RING', '+CMTI: "SM",9');
    const res = await r.modem.sendSms('+84901000002', 'Xe chữa cháy đang đến');
    assert.deepEqual(res, { parts: 1, refs: [1] });
    await waitFor(() => r.rings === 1, 2000, 'ring event');
    const next = await r.modem.sendSms('+84901000002', 'ok');
    assert.deepEqual(next.refs, [2], 'the next command is not confused either');
  });

  test('modem errors: +CMS ERROR and ERROR reject as modem_error with the code', async (t) => {
    const r = await rig(t);
    r.pty.sim.failNextSms(500);
    await assert.rejects(r.modem.sendSms('+84901000002', 'x'), (e: ModemError) => e.code === 'modem_error' && e.cms === 500 && e.retryable);
    r.pty.sim.failNextSms('ERROR');
    await assert.rejects(r.modem.sendSms('+84901000002', VI300), (e: ModemError) => e.code === 'modem_error' && e.partsSent === 0);
    assert.deepEqual((await r.modem.sendSms('+84901000002', 'y')).parts, 1);
  });

  test('calls: answered then hung up, busy, not answered within ringMs, ATH ignored → AT+CHUP', async (t) => {
    const r = await rig(t);
    const sim = r.pty.sim;
    sim.scriptCall('+84901000002', { answerAfterMs: 100 });
    assert.equal(await r.modem.call('+84901000002', { ringMs: 5000 }), 'answered');
    assert.equal(sim.calls[0]!.endedBy, 'hub');
    assert.ok(sim.calls[0]!.endedAt! - sim.calls[0]!.answeredAt! >= 40, 'kept up a moment after the answer');
    sim.scriptCall('+84901000003', { busyAfterMs: 50 });
    assert.equal(await r.modem.call('+84901000003', { ringMs: 5000 }), 'busy');
    const t0 = Date.now();
    assert.equal(await r.modem.call('+84901000004', { ringMs: 400 }), 'no-answer');
    assert.ok(Date.now() - t0 >= 400, 'rang for ringMs');
    assert.deepEqual([sim.calls[2]!.alerted, sim.calls[2]!.endedBy], [true, 'hub']);
    sim.scriptCall('+84901000005', { rejectAfterMs: 50 });
    assert.equal(await r.modem.call('+84901000005', { ringMs: 5000 }), 'no-answer', 'declined after ringing');
    sim.o.athIgnored = true;
    assert.equal(await r.modem.call('+84901000006', { ringMs: 200 }), 'no-answer');
    assert.equal(sim.calls[4]!.endedBy, 'hub');
    assert.ok(sim.transcript.includes('> AT+CHUP'), 'AT+CHUP after ATH left the call up');
  });

  test('unplugged mid-send → modem_unavailable, up:false; plugged back → up:true without a restart', async (t) => {
    const r = await rig(t, { smsLatencyMs: 1500 });
    const sending = r.modem.sendSms('+84901000002', 'Cháy!');
    await waitFor(() => r.pty.sim.transcript.some((l) => l.endsWith('<^Z>')), 3000, 'the PDU handed to the modem');
    await r.pty.unplug();
    await assert.rejects(sending, (e: ModemError) => e.code === 'modem_unavailable' && e.maybeSent === true);
    await waitFor(() => !r.modem.status.up, 3000, 'up:false');
    assert.equal(r.statuses.at(-1)!.up, false);
    assert.match(r.modem.status.reason ?? '', /closed|cannot open/);
    await assert.rejects(r.modem.sendSms('+84901000002', 'x'), (e: ModemError) => e.code === 'modem_unavailable');
    r.pty.sim.o.smsLatencyMs = 20;
    await r.pty.replug();
    await waitFor(() => r.modem.status.up && r.modem.status.registered, 10_000, 'up again');
    assert.deepEqual(r.modem.status, { up: true, registered: true, signal: 21, sim: 'ready' });
    assert.deepEqual((await r.modem.sendSms('+84901000002', 'Đã cắm lại')).parts, 1);
    assert.equal(r.pty.sim.sent.at(-1)!.text, 'Đã cắm lại');
  });

  test('SIM PIN: entered at start and after a replug; a wrong PIN is tried once only; none configured', async (t) => {
    const ok = await rig(t, { pin: '4321' }, { pin: '4321' });
    assert.deepEqual(ok.modem.status, { up: true, registered: true, signal: 21, sim: 'ready' });
    assert.ok(ok.pty.sim.transcript.includes('> AT+CPIN=***'));
    await ok.pty.unplug();
    await waitFor(() => !ok.modem.status.up, 3000, 'down');
    await ok.pty.replug();
    await waitFor(() => ok.modem.status.sim === 'ready' && ok.modem.status.registered, 5000, 'PIN entered again');
    assert.equal(ok.pty.sim.transcript.filter((l) => l === '> AT+CPIN=***').length, 2);

    const wrong = await rig(t, { pin: '4321' }, { pin: '0000', pollMs: 100 });
    assert.equal(wrong.modem.status.sim, 'pin');
    assert.match(wrong.modem.status.reason ?? '', /refused the PIN/);
    const polls = () => wrong.pty.sim.transcript.filter((l) => l === '> AT+CPIN?').length;
    await waitFor(() => polls() >= 3, 3000, 'two more polls');
    assert.equal(wrong.pty.sim.transcript.filter((l) => l === '> AT+CPIN=***').length, 1, 'the wrong PIN is not sent again');
    assert.match(wrong.modem.status.reason ?? '', /not tried again/);
    await assert.rejects(wrong.modem.sendSms('+84901000002', 'x'), (e: ModemError) => e.code === 'modem_unavailable');

    const none = await rig(t, { pin: '4321' });
    assert.deepEqual([none.modem.status.up, none.modem.status.sim, none.modem.status.registered], [true, 'pin', false]);
    assert.match(none.modem.status.reason ?? '', /--modem-pin/);
  });

  test('registration dropped: seen at the next poll, sending refused until it is back', async (t) => {
    const r = await rig(t, {}, { pollMs: 100 });
    r.pty.sim.setRegistered(false);
    await waitFor(() => !r.modem.status.registered, 3000, 'unregistered');
    assert.equal(r.modem.status.reason, 'not registered on the mobile network');
    assert.equal(r.modem.status.signal, null);
    await assert.rejects(r.modem.sendSms('+84901000002', 'x'), (e: ModemError) => e.code === 'modem_unavailable');
    r.pty.sim.setRegistered(true);
    await waitFor(() => r.modem.status.registered, 3000, 'registered again');
    assert.equal(r.modem.status.reason, undefined);
  });
});
