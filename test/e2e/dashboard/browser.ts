/**
 * Helpers for the dashboard's end-to-end tests: build the dashboard when it is missing or older
 * than its sources, launch Debian's headless Chromium, log in, save screenshots.
 */
import { existsSync, mkdirSync, readdirSync, statSync, copyFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DIST_INDEX = join(ROOT, 'dist', 'dashboard', 'index.html');
export const SCREENSHOT_DIR = join(ROOT, 'test-artifacts', 'screenshots');
export const DOCS_SCREENSHOT_DIR = join(ROOT, 'docs', 'screenshots');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Builds dist/dashboard with Vite's JS API when it is missing or older than dashboard/ or hub/protocol/. */
export async function ensureDashboardBuilt(): Promise<void> {
  const sources = Math.max(newestMtime(join(ROOT, 'dashboard')), newestMtime(join(ROOT, 'hub', 'protocol')));
  if (existsSync(DIST_INDEX) && statSync(DIST_INDEX).mtimeMs >= sources) return;
  const { build } = await import('vite');
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    await build({ configFile: join(ROOT, 'dashboard', 'vite.config.ts'), logLevel: 'warn' });
    // As `npm run build` does: the hub serves the .gz next to each file (the first-load size counts them).
    const { precompress } = (await import(join(ROOT, 'scripts', 'precompress.mjs'))) as { precompress(dir: string): void };
    precompress(join(ROOT, 'dist', 'dashboard'));
  } finally {
    process.chdir(cwd);
  }
}

/** `extraArgs`: more Chromium flags for one test (e.g. `--autoplay-policy=no-user-gesture-required`). */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** Fails the test on uncaught page errors; keeps console errors for the report. */
export function watchPage(page: Page, errors: string[]): void {
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
}

export async function login(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/#/login`);
  try {
    await page.locator('input[name=username]').waitFor({ timeout: 30_000 });
  } catch (err) {
    // Say what the page shows instead (a stuck load, an error box), not only that the field is missing.
    const shown = await page
      .evaluate(() => `${document.readyState} | ${document.body?.textContent?.slice(0, 300) ?? '(no body)'} | scripts: ${document.scripts.length}`)
      .catch((e: unknown) => `page not readable: ${String(e)}`);
    throw new Error(`the login form did not appear at ${page.url()}: ${shown}`, { cause: err });
  }
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(password);
  await page.locator('button[type=submit]').click();
  await page.locator('header.topbar').waitFor({ timeout: 5000 });
}

/**
 * Saves a screenshot to test-artifacts/screenshots/; with SMOKEHUB_UPDATE_SCREENSHOTS=1 also to
 * docs/screenshots/ (the README's pictures), so an ordinary test run leaves the tree clean.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  if (process.env.SMOKEHUB_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS_SCREENSHOT_DIR, { recursive: true });
    copyFileSync(file, join(DOCS_SCREENSHOT_DIR, `${name}.png`));
  }
}

/**
 * Records every oscillator the page starts (its wave and the pitches scheduled on it), so that the
 * test can tell which tone pattern was played. Installed before the dashboard's scripts run.
 */
export async function recordTones(ctx: BrowserContext): Promise<void> {
  await ctx.addInitScript(() => {
    const w = window as unknown as { __tones: { wave: string; freqs: number[] }[] };
    w.__tones = [];
    const scheduled = new WeakMap<AudioParam, number[]>();
    const setValueAtTime = AudioParam.prototype.setValueAtTime;
    AudioParam.prototype.setValueAtTime = function (this: AudioParam, value: number, at: number) {
      const list = scheduled.get(this) ?? [];
      list.push(value);
      scheduled.set(this, list);
      return setValueAtTime.call(this, value, at);
    };
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (this: OscillatorNode, when?: number) {
      w.__tones.push({ wave: this.type, freqs: [...new Set(scheduled.get(this.frequency) ?? [this.frequency.value])] });
      return start.call(this, when);
    };
  });
}
export async function tonesOf(page: Page): Promise<{ wave: string; freqs: number[] }[]> {
  return page.evaluate(() => (window as unknown as { __tones: { wave: string; freqs: number[] }[] }).__tones);
}
