/**
 * A reserve file in the data directory: space held back so that the alarm journal can still be
 * written when the disk fills up (telemetry, logs or another program took the rest). The journal
 * releases it on its first failed write and retries; the hub makes it again once the disk has room.
 */
import { openSync, closeSync, writeSync, unlinkSync, statSync, statfsSync, renameSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const RESERVE_FILE = 'reserve.bin';
/** 16 MiB: a few thousand journal entries. */
export const DEFAULT_RESERVE_BYTES = 16 * 1024 * 1024;

export class DiskReserve {
  readonly path: string;

  constructor(
    private readonly dataDir: string,
    private readonly bytes: number = DEFAULT_RESERVE_BYTES,
  ) {
    this.path = join(dataDir, RESERVE_FILE);
  }

  /** Whether the reserve is in place (whole). */
  get held(): boolean {
    try {
      return statSync(this.path).size >= this.bytes;
    } catch {
      return false;
    }
  }

  /**
   * Makes the reserve when it is missing and the disk has room for it and as much again. Returns
   * whether it is in place. Never throws (a full disk just leaves it missing). Synchronous: called at
   * start and, rarely, after a recovery — not on the alarm path.
   */
  ensure(): boolean {
    if (this.bytes <= 0) return false;
    if (this.held) return true;
    try {
      const fs = statfsSync(this.dataDir);
      if (fs.bavail * fs.bsize < 2 * this.bytes) return false;
    } catch {
      return false;
    }
    const tmp = `${this.path}.tmp`;
    let fd: number | null = null;
    try {
      fd = openSync(tmp, 'w');
      const chunk = Buffer.alloc(Math.min(this.bytes, 1024 * 1024), 0);
      for (let written = 0; written < this.bytes; written += chunk.length) {
        writeSync(fd, chunk, 0, Math.min(chunk.length, this.bytes - written));
      }
      closeSync(fd);
      fd = null;
      renameSync(tmp, this.path);
      return true;
    } catch {
      if (fd !== null) closeSync(fd);
      try {
        if (existsSync(tmp)) unlinkSync(tmp);
      } catch {
        // nothing more to do
      }
      return false;
    }
  }

  /** Frees the reserve's space; true when there was one to free. */
  release(): boolean {
    try {
      unlinkSync(this.path);
      return true;
    } catch {
      return false;
    }
  }
}
