/** The pure parts of the modem adapter: response parsers and the concatenated-SMS reassembly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClcc, parseCpin, parseCsq, parseRegistration, parseStoredList, simStateOfCmeError, simStateOfCode } from '../../../hub/sms/modem-responses.ts';
import { SmsReassembly } from '../../../hub/sms/modem-reassembly.ts';

test('response parsers: +CPIN, +CREG/+CEREG, +CSQ, +CMGL/+CMGR, +CLCC', () => {
  assert.equal(parseCpin(['+CPIN: READY']), 'READY');
  assert.equal(parseCpin(['+CPIN: "SIM PIN"']), 'SIM PIN');
  assert.equal(simStateOfCode(parseCpin(['+CPIN: PH_SIM PIN'])!), 'locked');
  assert.deepEqual(simStateOfCmeError(10).sim, 'absent');
  assert.deepEqual(simStateOfCmeError(14).sim, 'unknown');
  assert.equal(parseRegistration(['+CREG: 0,5'], '+CREG:'), 5);
  assert.equal(parseRegistration(['+CREG: 2,1,"00C3","0010"'], '+CREG:'), 1);
  assert.equal(parseRegistration(['+CEREG: 0,2'], '+CEREG:'), 2);
  assert.equal(parseRegistration(['+CSQ: 1,0'], '+CREG:'), null);
  assert.equal(parseCsq(['+CSQ: 18,99']), 18);
  assert.equal(parseCsq(['+CSQ: 99,99']), null);
  assert.deepEqual(parseStoredList(['+CMGL: 3,0,,24', '07AB', '+CMGL: 9,3,"x",20', '07CD'], '+CMGL:'), [
    { index: 3, stat: 0, pdu: '07AB' },
    { index: 9, stat: 3, pdu: '07CD' },
  ]);
  assert.deepEqual(parseStoredList(['+CMGR: 1,,24', '07AB'], '+CMGR:'), [{ stat: 1, pdu: '07AB' }]);
  assert.deepEqual(parseClcc(['+CLCC: 1,0,3,0,0,"+84901000002",145', '+CLCC: 2,1,4,0,0']), [
    { id: 1, dir: 0, stat: 3, mode: 0, number: '+84901000002' },
    { id: 2, dir: 1, stat: 4, mode: 0 },
  ]);
});

test('reassembly: parts in any order and duplicated, joined once complete', () => {
  const r = new SmsReassembly({ timeoutMs: 60_000 });
  const c = (seq: number) => ({ ref: 5, total: 3, seq, refBits: 8 as const });
  assert.deepEqual(r.push({ from: '+84901', text: 'C', concat: c(3) }, 1000), []);
  assert.deepEqual(r.push({ from: '+84901', text: 'A', concat: c(1), sentAt: 900 }, 1001), []);
  assert.deepEqual(r.push({ from: '+84901', text: 'A!', concat: c(1) }, 1002), [], 'a duplicate part is ignored');
  // Same reference from another sender is another message.
  assert.deepEqual(r.push({ from: '+84902', text: 'x', concat: c(1) }, 1003), []);
  assert.deepEqual(r.push({ from: '+84901', text: 'B', concat: c(2) }, 1004), [{ from: '+84901', text: 'ABC', at: 1004, sentAt: 900, parts: 3 }]);
  assert.equal(r.size, 1);
  assert.deepEqual(r.push({ from: '+84903', text: 'single' }, 1005), [{ from: '+84903', text: 'single', at: 1005, parts: 1 }]);
});

test('reassembly is bounded: timeout and capacity give up with what arrived (partial)', () => {
  const r = new SmsReassembly({ timeoutMs: 10_000, maxMessages: 2 });
  const c = (ref: number, seq: number) => ({ ref, total: 2, seq, refBits: 8 as const });
  r.push({ from: 'a', text: 'a1', concat: c(1, 1) }, 0);
  r.push({ from: 'b', text: 'b2', concat: c(2, 2) }, 5000);
  assert.equal(r.nextDeadline(), 10_000);
  const pushedOut = r.push({ from: 'c', text: 'c1', concat: c(3, 1) }, 6000);
  assert.deepEqual(pushedOut, [{ from: 'a', text: 'a1', at: 6000, parts: 1, partial: true }], 'the oldest gives way');
  assert.deepEqual(r.expire(14_999), []);
  assert.deepEqual(r.expire(15_000), [{ from: 'b', text: 'b2', at: 15_000, parts: 1, partial: true }]);
  assert.equal(r.size, 1);
});
