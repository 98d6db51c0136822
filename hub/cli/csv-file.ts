/** Reads a CSV file given on the command line: bounded in size, strict UTF-8, clear messages. */
import { readFileSync } from 'node:fs';
import { MAX_CSV_BYTES } from '../store/csv-import.ts';
import { UsageError } from './args.ts';
import type { CliIo } from './command.ts';

/** The file's text, or null after telling the user why nothing was imported. */
export function readCsvFile(file: string, io: CliIo): string | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (bytes.length > MAX_CSV_BYTES) {
    io.stderr(`${file}: the file is larger than ${MAX_CSV_BYTES} bytes; nothing was imported\n`);
    return null;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    io.stderr(`${file}: the file is not UTF-8 text; save it as "CSV UTF-8" and retry. Nothing was imported.\n`);
    return null;
  }
}
