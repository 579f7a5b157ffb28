/**
 * Argument parsers for commander: each validates one value or throws ARGUMENT_INVALID naming it.
 * Loaded by every command file at startup, so it imports nothing heavy.
 */
import { TributaryError } from '../engine/errors.ts';
import { parseDay } from '../engine/day.ts';
import type { Json } from '../engine/types.ts';

/** 'YYYY-MM-DD' that exists in the calendar. */
export function dayArg(value: string): string {
  parseDay(value);
  return value;
}

function wholeNumberArg(name: string, min: 0 | 1) {
  const what = min === 1 ? 'a positive whole number' : 'a whole number (0 or more)';
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
      throw new TributaryError('ARGUMENT_INVALID', `${name} "${value}" must be ${what}`);
    }
    return Number(value);
  };
}

export const positiveIntArg = (name: string) => wholeNumberArg(name, 1);
/** 0, 1, 2, … (a map index). */
export const nonNegativeIntArg = (name: string) => wholeNumberArg(name, 0);

export const runIdArg = positiveIntArg('run id');

function parseJson(name: string, value: string): Json {
  try {
    return JSON.parse(value) as Json;
  } catch (err) {
    throw new TributaryError('ARGUMENT_INVALID', `${name} is not valid JSON: ${(err as Error).message}`);
  }
}

/** A JSON object, e.g. `{"agency":"north"}`. */
export function paramsArg(value: string): Record<string, Json> {
  const parsed = parseJson('--params', value);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TributaryError('ARGUMENT_INVALID', `--params must be a JSON object like {"key":"value"}, got ${value}`);
  }
  return parsed;
}

export function jsonArg(name: string) {
  return (value: string): Json => parseJson(name, value);
}

/** `load,report` → ['load', 'report']. */
export function listArg(value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new TributaryError('ARGUMENT_INVALID', `expected a comma-separated list, got "${value}"`);
  return items;
}
