/**
 * The bounded version of `npm run bench:load`: its measured child (bench/load-child.ts) loads a
 * 2,000-row bench file with the engine's connection settings and COPYs the valid rows, and both
 * agree with the generator's planted truth — so the bench cannot stop working unnoticed (it had
 * stopped at TABLE_RESERVED once loads refused targets in the engine's schema, and nothing said so).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChild } from '../../../bench/load-child.ts';
import { TABLE_DDL, writeBenchFiles, type PlantedTruth } from '../../../bench/load-data.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { tempDir } from './helpers.ts';

let database: TestDatabase;
let dir: string;
let truth: PlantedTruth;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('bench-load-child');
  truth = await writeBenchFiles(2_000, path.join(dir, 'full.csv'), path.join(dir, 'valid.csv'));
  for (const table of ['items_load', 'items_copy']) await database.pool.query(`CREATE TABLE public.${table} ${TABLE_DDL}`);
});
afterAll(async () => {
  await database?.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('bench:load child', () => {
  it('loads the planted file and COPYs its valid rows, counts equal to the truth', async () => {
    expect(truth.invalid).toBeGreaterThan(0);
    const load = await runChild(['load', database.url, path.join(dir, 'full.csv'), 'public.items_load']);
    expect({ read: load.rows_read, loaded: load.rows_loaded, rejected: load.rows_rejected }).toEqual({ read: truth.rows, loaded: truth.valid, rejected: truth.invalid });
    const copy = await runChild(['copy', database.url, path.join(dir, 'valid.csv'), 'public.items_copy']);
    expect(copy.rows_loaded).toBe(truth.valid);
    const { rows } = await database.pool.query('SELECT (SELECT count(*) FROM public.items_load)::int AS loaded, (SELECT count(*) FROM public.items_copy)::int AS copied');
    expect(rows[0]).toEqual({ loaded: truth.valid, copied: truth.valid });
  });
});
