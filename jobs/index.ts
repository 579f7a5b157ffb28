/**
 * The shipped job kinds, by name. Each kind lives in jobs/<kind>/; add it to KINDS below.
 */
import type { JobKind } from '../engine/types.ts';
import { loadKind } from './load/index.ts';
import { noop } from './noop/index.ts';
import { sensorKind } from './sensor/index.ts';
import { validateKind } from './validate/index.ts';
import { reconcileKind } from './reconcile/index.ts';
import { reportKind } from './report/index.ts';
import { extractKind } from './extract/index.ts';

const KINDS: readonly JobKind[] = [
  noop, sensorKind as JobKind, loadKind as JobKind,
  validateKind as JobKind, reconcileKind as JobKind, reportKind as JobKind, extractKind as JobKind,
];

export function builtinKinds(): Map<string, JobKind> {
  return new Map(KINDS.map((kind) => [kind.name, kind]));
}
