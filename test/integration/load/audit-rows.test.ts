/**
 * Refused rows reach the audit table by COPY (text format) exactly as the load built them: every
 * raw line, reason and JSON record and errors read back equal, whatever the text holds — COPY's own
 * escapes (backslash, tab, CR, LF, `\N`, `\.`), quotes, any Unicode but NUL (the load shows NUL as
 * ␀ before it gets here). Fuzzed with fast-check, which prints the seed of a failure.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTarget, ensureAuditTable, insertAuditRows, type AuditRow } from '../../../jobs/load/audit.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

/** Text biased towards what COPY's text format and JSON escape, with any other Unicode but NUL. */
const bait = fc.constantFrom('\\', '\t', '\r', '\n', '\r\n', '\\N', '\\.', '"', "'", ',', '\u2028', '😀', '\ud83d', 'é');
const text = fc.array(fc.oneof(bait, fc.string({ unit: 'binary', maxLength: 8 })), { maxLength: 12 }).map((parts) => parts.join('').replace(/\0/g, '\u2400'));
/** JSON text holds no lone surrogate (jsonb refuses `\ud83d`): the load's text is decoded to well-formed UTF-8 first. */
const wellFormed = text.map((s) => Buffer.from(s, 'utf8').toString('utf8'));
const row = fc.record({
  raw: text,
  reason: text,
  record: fc.option(fc.dictionary(wellFormed, wellFormed, { maxKeys: 4 }), { nil: null }),
  errors: fc.array(fc.record({ column: fc.option(wellFormed, { nil: null }), rule: wellFormed, message: wellFormed }), { minLength: 1, maxLength: 3 }),
});

let batch = 0;

describe('audit rows by COPY', () => {
  it('reads back every row as written, with its line, file and context', async () => {
    const audit = auditTarget('public.audited');
    const client = await database.pool.connect();
    try {
      await ensureAuditTable(client, audit);
      await fc.assert(fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 30 }), text, async (generated, file) => {
        const runId = `run-${++batch}`;
        const rows: AuditRow[] = generated.map((r, i) => ({
          line: i + 2, raw: r.raw, reason: r.reason, record: r.record === null ? null : JSON.stringify(r.record), errors: JSON.stringify(r.errors),
        }));
        await insertAuditRows(client, audit, { runId, taskId: 'load\tx', mapIndex: 3, file }, rows);
        const { rows: back } = await client.query(
          `SELECT task_id, map_index, file, line::int, raw, record, errors, reason FROM ${audit.sql} WHERE run_id = $1 ORDER BY line`, [runId]);
        // The driver gives lone surrogates to Postgres as U+FFFD, as it does every text value.
        const sent = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
        const json = (s: string | null) => (s === null ? null : JSON.parse(sent(s)));
        expect(back).toEqual(rows.map((r) => ({
          task_id: 'load\tx', map_index: 3, file: sent(file), line: r.line, raw: sent(r.raw), record: json(r.record), errors: json(r.errors), reason: sent(r.reason),
        })));
      }), { numRuns: 60 });
    } finally {
      client.release();
    }
  });
});
