/**
 * `npm run bench:load`: the load job against raw COPY on a 1M-row invoice-items CSV (1% planted
 * invalid rows), the same file gzipped and in Latin-1, then the 3M-row version for memory. Each load
 * runs in a child process (peak RSS = its maxRSS). Progress on stderr; last stdout line is one JSON
 * object with the fields.
 */
import { fork } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { connect } from '../db/client.ts';
import { runMigrations } from '../db/migrate.ts';
import { TABLE_DDL, writeBenchFiles } from './load-data.ts';
import { compareParsers } from './load-parsers.ts';
import { runChild } from './load-child.ts';
import { sha256Of } from '../jobs/file-hash.ts';

const SELF = fileURLToPath(import.meta.url);
const log = (msg: string) => process.stderr.write(`[bench:load] ${msg}\n`);

interface ChildReport {
  seconds: number;
  maxRssMb: number;
  rows_loaded: number;
  rows_rejected: number;
  rows_read: number;
}

function child(args: string[]): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const p = fork(SELF, ['child', ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`child ${args[0]} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop() as string) as ChildReport);
    });
  });
}

async function main(): Promise<void> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-bench-load-'));
  const stops: Array<() => Promise<void>> = [async () => fs.rm(tmp, { recursive: true, force: true })];
  await fs.chmod(tmp, 0o711); // as root the `postgres` user must reach its data in tmp (else it moves beside it)
  try {
    let serverUrl = process.env.DATABASE_URL;
    if (!serverUrl) {
      log('starting embedded Postgres');
      const server = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg'), persistent: false, durable: false });
      serverUrl = server.url;
      stops.unshift(server.stop);
    }
    const dbName = `bench_load_${process.pid}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${dbName}`;
    const database = connect(url.toString(), { max: 2 });
    stops.unshift(async () => {
      await database.close();
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
    });
    await runMigrations(database);
    for (const t of ['items_load', 'items_copy', 'items_load_3m', 'items_gz', 'items_latin1']) await database.pool.query(`CREATE TABLE public.${t} ${TABLE_DDL}`);

    const full = path.join(tmp, 'items_1m.csv');
    const valid = path.join(tmp, 'items_1m_valid.csv');
    const full3 = path.join(tmp, 'items_3m.csv');
    log('generating 1M-row file and its valid-rows copy');
    const truth = await writeBenchFiles(1_000_000, full, valid);
    const bytes = (await fs.stat(full)).size;
    log(`1M file: ${(bytes / 1e6).toFixed(1)} MB, planted invalid ${truth.invalid} ${JSON.stringify(truth.byKind)}`);

    const hashStarted = performance.now();
    const handle = await fs.open(full);
    await sha256Of(handle).finally(() => handle.close()); // the load's own pre-check (source-file.ts)
    const hashSeconds = (performance.now() - hashStarted) / 1000;
    log(`sha256 pre-check of the 1M file: ${hashSeconds.toFixed(3)} s`);

    const gz = path.join(tmp, 'items_1m.csv.gz');
    const latin1 = path.join(tmp, 'items_1m_latin1.csv');
    log('gzipping the 1M file; writing its Latin-1 version (every "Cable" as "Câble")');
    await pipeline(createReadStream(full), createGzip(), createWriteStream(gz));
    await pipeline(createReadStream(full), async function* (chunks: AsyncIterable<Buffer>) {
      for await (const c of chunks) yield Buffer.from(c.toString('latin1').replace(/Cable/g, 'C\u00e2ble'), 'latin1');
    }, createWriteStream(latin1));

    log('parsers, parse only, on the valid file');
    const parsers = await compareParsers(valid);
    log(JSON.stringify(parsers));

    const loads: ChildReport[] = [];
    const copies: ChildReport[] = [];
    const gzLoads: ChildReport[] = [];
    const latin1Loads: ChildReport[] = [];
    // Each measured run starts after a CHECKPOINT (the WAL of the run before it is not flushed during
    // this one), and the order alternates between rounds, so no figure owes its time to its place.
    const measure = async (label: string, args: string[]): Promise<ChildReport> => {
      await database.pool.query('CHECKPOINT');
      log(label);
      return child(args);
    };
    const copyRun = async (round: number) => {
      await database.pool.query('TRUNCATE items_copy');
      copies.push(await measure(`round ${round}: raw COPY of the valid rows`, ['copy', url.toString(), valid, 'items_copy']));
    };
    for (let round = 1; round <= 2; round++) {
      if (round === 1) await copyRun(round);
      await database.pool.query('TRUNCATE items_load; DELETE FROM load_ledger; DROP TABLE IF EXISTS audit.items_load_rejects');
      loads.push(await measure(`round ${round}: load job`, ['load', url.toString(), full, 'items_load']));
      if (round === 2) await copyRun(round);
      await database.pool.query('TRUNCATE items_gz, items_latin1; DELETE FROM load_ledger; DROP TABLE IF EXISTS audit.items_gz_rejects, audit.items_latin1_rejects');
      gzLoads.push(await measure(`round ${round}: load job, gzipped file`, ['load', url.toString(), gz, 'items_gz']));
      latin1Loads.push(await measure(`round ${round}: load job, Latin-1 file`, ['load', url.toString(), latin1, 'items_latin1', 'latin1']));
      log(`round ${round}: load ${loads.at(-1)?.seconds.toFixed(2)} s, gz ${gzLoads.at(-1)?.seconds.toFixed(2)} s, ` +
        `latin1 ${latin1Loads.at(-1)?.seconds.toFixed(2)} s, copy ${copies.at(-1)?.seconds.toFixed(2)} s`);
    }
    const fastest = (runs: ChildReport[]) => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const load = fastest(loads);
    const copy = fastest(copies);
    const gzLoad = fastest(gzLoads);
    const latin1Load = fastest(latin1Loads);
    const tableCount = async (t: string) => Number((await database.pool.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
    const gzSame = gzLoad.rows_loaded === truth.valid && gzLoad.rows_rejected === truth.invalid && (await tableCount('items_gz')) === truth.valid;
    // In Latin-1 the planted invalid-UTF-8 bytes are characters, so those rows load
    const latin1Valid = truth.valid + (truth.byKind.invalid_utf8 ?? 0);
    const latin1Same = latin1Load.rows_loaded === latin1Valid && (await tableCount('items_latin1')) === latin1Valid &&
      (await tableCount("items_latin1 WHERE description LIKE 'Câble%'")) > 0;
    const gzBytes = (await fs.stat(gz)).size;
    await fs.rm(gz);
    await fs.rm(latin1);
    const inTable = Number((await database.pool.query('SELECT count(*) AS n FROM items_load')).rows[0].n);
    const audited = Number((await database.pool.query('SELECT count(*) AS n FROM audit.items_load_rejects')).rows[0].n);
    await fs.rm(valid);

    log('generating 3M-row file');
    const truth3 = await writeBenchFiles(3_000_000, full3, null, 7);
    log('load job, 3M rows');
    const load3 = await child(['load', url.toString(), full3, 'items_load_3m']);
    await fs.rm(full3);

    const result = {
      rows: truth.rows,
      bytes,
      seconds: round3(load.seconds),
      rows_per_s: Math.round(truth.rows / load.seconds),
      raw_copy_seconds: round3(copy.seconds),
      ratio_vs_copy: round3(copy.seconds / load.seconds),
      peak_rss_mb: Math.round(load.maxRssMb),
      peak_rss_mb_3m: Math.round(load3.maxRssMb),
      seconds_3m: round3(load3.seconds),
      raw_copy_peak_rss_mb: Math.round(copy.maxRssMb),
      gz_bytes: gzBytes,
      gz_seconds: round3(gzLoad.seconds),
      gz_ratio_vs_copy: round3(copy.seconds / gzLoad.seconds),
      gz_peak_rss_mb: Math.round(gzLoad.maxRssMb),
      gz_loads_same_rows: gzSame,
      latin1_seconds: round3(latin1Load.seconds),
      latin1_ratio_vs_copy: round3(copy.seconds / latin1Load.seconds),
      latin1_loads_expected_rows: latin1Same,
      rejected: load.rows_rejected,
      planted_invalid: truth.invalid,
      rejected_matches_planted: load.rows_rejected === truth.invalid && audited === truth.invalid,
      loaded: load.rows_loaded,
      loaded_matches_valid: load.rows_loaded === truth.valid && inTable === truth.valid,
      rejected_3m: load3.rows_rejected,
      rejected_3m_matches_planted: load3.rows_rejected === truth3.invalid,
      runs_seconds: loads.map((l) => round3(l.seconds)),
      raw_copy_runs_seconds: copies.map((c) => round3(c.seconds)),
      gz_runs_seconds: gzLoads.map((l) => round3(l.seconds)),
      latin1_runs_seconds: latin1Loads.map((l) => round3(l.seconds)),
      sha256_precheck_seconds: round3(hashSeconds),
      parser: 'own tokenizer (jobs/load/csv-reader.ts)',
      parse_only_rows_per_s: parsers,
      own_vs_csv_parse_same_work: round3(parsers.own.rows_per_s / parsers.csv_parse_raw_info.rows_per_s),
      cpus: os.cpus().length,
    };
    console.log(JSON.stringify(result));
  } finally {
    for (const stop of stops) await stop().catch((err: unknown) => log(`cleanup: ${String(err)}`));
  }
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

if (process.argv[2] === 'child') {
  runChild(process.argv.slice(3)).then(
    (report) => {
      console.log(JSON.stringify(report));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
