/**
 * The modem simulator on one end of a real pseudo-terminal pair made by socat
 * (`socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`): the hub opens the other end with
 * serialport, as it opens /dev/ttyUSB2. Unplug = socat stopped (both PTYs vanish, the hub's port
 * closes); replug = a new pair at the same path and a power-cycled modem.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { ModemSimulator, type SimulatorOptions } from './modem-simulator.ts';

const liveSocats = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of liveSocats) p.kill('SIGKILL');
});

export interface PtyModem {
  /** The end the hub opens with serialport. */
  hubPath: string;
  sim: ModemSimulator;
  readonly plugged: boolean;
  /** The modem is pulled: its PTY pair disappears (the hub's port closes). */
  unplug(): Promise<void>;
  /** Plugged back in: a new PTY pair at the same path, the modem power-cycled. */
  replug(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts socat (`pty,raw,echo=0` both ends) and a simulator on the modem end. */
export async function startPtyModem(dir: string, opts: SimulatorOptions = {}): Promise<PtyModem> {
  const hubPath = join(dir, 'modem-hub');
  const modemPath = join(dir, 'modem-dev');
  const sim = new ModemSimulator(opts);
  let socat: ChildProcess | null = null;
  let port: SerialPort | null = null;

  const plug = async () => {
    const p = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${hubPath}`, `pty,raw,echo=0,link=${modemPath}`], { stdio: 'ignore' });
    liveSocats.add(p);
    p.once('exit', () => liveSocats.delete(p));
    socat = p;
    const deadline = Date.now() + 5000;
    while (!(existsSync(hubPath) && existsSync(modemPath))) {
      if (p.exitCode !== null || Date.now() > deadline) throw new Error('socat did not create the PTY pair');
      await new Promise((r) => setTimeout(r, 10));
    }
    const sp = new SerialPort({ path: modemPath, baudRate: 115200 });
    await new Promise<void>((resolve, reject) => sp.once('open', resolve).once('error', reject));
    sp.on('error', () => undefined);
    port = sp;
    sim.attach(sp);
  };
  const unplug = async () => {
    sim.detach();
    const sp = port;
    port = null;
    if (sp?.isOpen) await new Promise<void>((r) => sp.close(() => r()));
    const p = socat;
    socat = null;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      await exited;
    }
  };
  await plug();
  return {
    hubPath,
    sim,
    get plugged() {
      return socat !== null;
    },
    unplug,
    async replug() {
      sim.powerCycle();
      await plug();
    },
    async stop() {
      sim.dispose();
      await unplug();
    },
  };
}

/** Kills every socat these helpers started (for `after` hooks of a test that failed half-way). */
export function killAllSocat(): void {
  for (const p of liveSocats) p.kill('SIGKILL');
}

/** Whether socat is installed (test/run.sh installs it; else `apt-get install -y socat`). */
export function hasSocat(): boolean {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}
