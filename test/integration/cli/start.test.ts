/** `smokehub start` as a child process: the admin password once, the API, graceful stop, structured logs, clear start-up errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { cli, env, exitOf, ROOT, tempDir, waitFor } from '../../helpers/cli-kit.ts';

/** `node … smokehub start` on free ports of 127.0.0.1 with a data dir. */
function startArgs(dir: string): string[] {
  return [
    '--import',
    'tsx',
    'hub/cli/main.ts',
    'start',
    '--data',
    dir,
    '--mqtt-port',
    '0',
    '--http-port',
    '0',
    '--mqtts-port',
    '0',
    '--https-port',
    '0',
    '--host',
    '127.0.0.1',
  ];
}

test('start: prints the admin password once, serves the API, stops gracefully on SIGTERM', async (t) => {
  const dir = tempDir(t);
  const args = [...startArgs(dir), '--log-level', 'warn'];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: env() });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const out = await waitFor(child, /HTTP .* on port \d+/, 30_000);
  const password = /password: (\S+)/.exec(out)?.[1];
  assert.ok(password, out);
  const httpPort = Number(/on port (\d+), data/.exec(out)![1]);
  const login = await fetch(`http://127.0.0.1:${httpPort}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  assert.equal(login.status, 200, 'the printed admin password logs in at once');
  const health = await fetch(`http://127.0.0.1:${httpPort}/health`);
  assert.equal(((await health.json()) as { status: string }).status, 'ok');
  child.kill('SIGTERM');
  assert.equal(await exitOf(child), 0, stderr);

  // Second start: no password printed again.
  const again = spawn(process.execPath, args, { cwd: ROOT, env: env() });
  t.after(() => {
    if (again.exitCode === null) again.kill('SIGKILL');
  });
  const out2 = await waitFor(again, /HTTP .* on port \d+/, 30_000);
  assert.doesNotMatch(out2, /password/);
  again.kill('SIGINT');
  assert.equal(await exitOf(again), 0);
});

/** The lines of a run's output that are not pino JSON, outside the first-start banner's paragraphs. */
function plainLines(out: string): string[] {
  const plain: string[] = [];
  let inBanner = false;
  for (const line of out.split('\n')) {
    if (line.startsWith('First start: ')) inBanner = true;
    if (line === '') {
      inBanner = false;
      continue;
    }
    if (inBanner) continue;
    try {
      const entry = JSON.parse(line) as { level?: unknown; time?: unknown; msg?: unknown };
      assert.equal(typeof entry.level, 'number', line);
      assert.equal(typeof entry.msg, 'string', line);
      assert.match(String(entry.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `UTC ISO time: ${line}`);
    } catch (err) {
      if (err instanceof SyntaxError) plain.push(line);
      else throw err;
    }
  }
  return plain;
}

test('start: while running, every line on stdout and stderr is a pino JSON line (UTC ISO time), but the first-start banner', async (t) => {
  const dir = tempDir(t);
  const args = startArgs(dir);
  for (const [run, level] of [
    ['first', 'info'],
    ['second', 'info'],
    ['quiet', 'warn'],
  ] as const) {
    const child = spawn(process.execPath, [...args, '--log-level', level], { cwd: ROOT, env: env() });
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let stdout = await waitFor(child, /"msg":"listening: /, 30_000);
    child.stdout.on('data', (d) => (stdout += d));
    const httpPort = Number(/"httpPort":(\d+)/.exec(stdout)![1]);
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/api/me`)).status, 401);
    child.kill('SIGTERM');
    assert.equal(await exitOf(child), 0, stderr);
    assert.equal(stderr, '', `${run}: nothing on stderr`);
    assert.deepEqual(plainLines(stdout), [], `${run}: no plain-text line outside the banner:\n${stdout}`);
    assert.equal(/password: \S+/.test(stdout), run === 'first', `${run}: the banner is printed on the first start only`);
    const messages = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    // The command's own lines are there whatever --log-level says.
    for (const m of [/^listening: MQTT on port \d+, HTTP .* on port \d+, data in /, /^SIGTERM received, stopping$/, /^stopped$/]) {
      assert.ok(
        messages.some((msg) => m.test(msg)),
        `${run}: ${m} in ${messages.join(' | ')}`,
      );
    }
  }
});

test('start: a port in use or a bad setting is one clear line and exit 1, no stack trace', async (t) => {
  const dir = tempDir(t);
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.after(() => blocker.close());
  const busy = (blocker.address() as { port: number }).port;
  const inUse = await cli([
    'start',
    '--data',
    dir,
    '--mqtt-port',
    '0',
    '--http-port',
    String(busy),
    '--mqtts-port',
    '0',
    '--https-port',
    '0',
    '--host',
    '127.0.0.1',
    '--log-level',
    'silent',
  ]);
  assert.equal(inUse.code, 1);
  assert.equal(inUse.stderr.trim().split('\n').length, 1, inUse.stderr);
  assert.match(inUse.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busy} \\(--http-port\\): the port is already in use`));
  const bad = await cli(['start', '--data', dir, '--mqtt-port', 'abc']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'smokehub start: mqttPort (--mqtt-port) must be an integer, got "abc"\n');
  // A negative number is a value, not an option: the hub's own range error, not node:util's "ambiguous".
  for (const argv of [['--verify-window', '-5'], ['--verify-window=-5']]) {
    const negative = await cli(['start', '--data', dir, ...argv]);
    assert.deepEqual(
      negative,
      { code: 1, stdout: '', stderr: 'smokehub start: verifyWindowS (--verify-window) must be between 0 and 600, got -5\n' },
      argv.join(' '),
    );
  }
});
