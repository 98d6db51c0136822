/**
 * Cooperative work: long jobs (16,000 households) run in chunks and give the event loop back
 * between chunks, so MQTT traffic and the alarm path are never held up by a schedule.
 */
export const CHUNK_SIZE = 500;

/** Lets pending I/O (MQTT packets, timers) run before continuing. */
export function yieldNow(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Thrown into a job when the hub stops while it runs. */
export class AbortedError extends Error {
  constructor() {
    super('aborted: the hub is stopping');
    this.name = 'AbortedError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError();
}

/** Calls `fn` on `items` in chunks, yielding to the event loop between chunks. */
export async function forEachChunk<T>(
  items: readonly T[],
  fn: (chunk: readonly T[]) => void,
  opts: { size?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const size = opts.size ?? CHUNK_SIZE;
  for (let i = 0; i < items.length; i += size) {
    throwIfAborted(opts.signal);
    fn(items.slice(i, i + size));
    if (i + size < items.length) await yieldNow();
  }
}

/** Waits `ms` or until `signal` aborts (then rejects with AbortedError). */
export function sleep(ms: number, signal?: AbortSignal, setTimer: (ms: number, fn: () => void) => { cancel(): void } = defaultTimer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const onAbort = () => {
      handle.cancel();
      reject(new AbortedError());
    };
    const handle = setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function defaultTimer(ms: number, fn: () => void): { cancel(): void } {
  const t = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(t) };
}
