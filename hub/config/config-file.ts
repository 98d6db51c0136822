/**
 * Reads a JSON settings file for config-loader.ts (hub and bridge): its object, or the one problem
 * with it (missing, not JSON, not an object) — reported with the other bad settings, never thrown.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Problem, SettingsInputs } from './config-loader.ts';

export interface SettingsFile {
  file: SettingsInputs['file'];
  problems: Problem[];
}

/** `required`: a file that does not exist is a problem (else it is simply no file). */
export function readSettingsFile(path: string, required: boolean): SettingsFile {
  const problem = (message: string): SettingsFile => ({ file: null, problems: [{ key: null, source: `in ${path}`, message }] });
  if (!existsSync(path)) return required ? problem(`config file ${path} does not exist`) : { file: null, problems: [] };
  let values: unknown;
  try {
    values = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    return problem(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!values || typeof values !== 'object' || Array.isArray(values)) return problem(`config file ${path} must hold a JSON object`);
  return { file: { path, values: values as Record<string, unknown> }, problems: [] };
}
