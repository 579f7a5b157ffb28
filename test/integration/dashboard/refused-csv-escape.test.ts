/**
 * The refused-rows CSV download escapes cells a spreadsheet would run as formulas (= + - @, tab,
 * CR → a leading `'`, the rule of report cells) and leaves plain numbers such as -12.5 alone:
 * asserted on the downloaded bytes of a real dashboard, over rows in a load task's audit table.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { auditOf } from '../../../dashboard/refused.ts';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import { ensureAuditTable, insertAuditRows, type AuditRow } from '../../../jobs/load/audit.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const TOKEN = 'refused-csv-token-0123456789';
const FILE = '/data/in/amounts.csv';

const dag = defineDag({
  id: 'amounts',
  tasks: { load: { kind: 'load', options: { source: { file: FILE }, target: 'amounts', columns: [{ name: 'amount', type: 'integer' }] } } },
});

const error = (message: string, rule = 'type') => JSON.stringify([{ column: 'amount', rule, message, value: null }]);
/** Refused rows as the load writes them: raw line, errors, reason. */
const ROWS: AuditRow[] = [
  { line: 2, raw: "=cmd|' /C calc'!A0,1", record: null, errors: error('=1+1 is not an integer'), reason: '+reason' },
  { line: 3, raw: '+1-2', record: null, errors: error('not an integer'), reason: 'type' },
  { line: 4, raw: '@SUM(A1:A9)', record: null, errors: error('not an integer', '@rule'), reason: 'type' },
  { line: 5, raw: '-12.5', record: null, errors: error('-12.5 is not an integer'), reason: 'type' },
  { line: 6, raw: '-1+2', record: null, errors: error('not an integer'), reason: 'type' },
  { line: 7, raw: '\tx', record: null, errors: error('not an integer'), reason: 'type' },
  { line: 8, raw: '\r=x', record: null, errors: error('not an integer'), reason: 'type' },
  { line: 9, raw: 'plain "quoted", text', record: null, errors: error('not an integer'), reason: 'type' },
];
/** The expected download, byte for byte, written by hand from the escaping rule. */
const EXPECTED = [
  'file,line,reason,rules,columns,errors,raw',
  `${FILE},2,'+reason,type,amount,'=1+1 is not an integer,"'=cmd|' /C calc'!A0,1"`,
  `${FILE},3,type,type,amount,not an integer,'+1-2`,
  `${FILE},4,type,'@rule,amount,not an integer,'@SUM(A1:A9)`,
  `${FILE},5,type,type,amount,'-12.5 is not an integer,-12.5`,
  `${FILE},6,type,type,amount,not an integer,'-1+2`,
  `${FILE},7,type,type,amount,not an integer,'\tx`,
  `${FILE},8,type,type,amount,not an integer,"'\r=x"`,
  `${FILE},9,type,type,amount,not an integer,"plain ""quoted"", text"`,
  '',
].join('\n');

let t: TestEngine;
let dashboard: Dashboard;
let runId: number;

beforeAll(async () => {
  t = await startTestEngine({ backend: 'redis', dags: [dag], workers: false });
  dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }), backfillMaxRuns: 20 });
  ({ runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('amounts')!, { date: '2025-05-13' }));
  const { audit } = auditOf(t.dags.get('amounts')!, 'load');
  const client = await t.database.pool.connect();
  try {
    await ensureAuditTable(client, audit);
    await insertAuditRows(client, audit, { runId: String(runId), taskId: 'load', mapIndex: -1, file: FILE }, ROWS);
  } finally {
    client.release();
  }
});
afterAll(async () => {
  await dashboard?.close();
  await t?.close();
});

async function sessionCookie(): Promise<string> {
  const res = await fetch(`${dashboard.url}/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: TOKEN }),
  });
  expect(res.status).toBe(303);
  return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

describe('refused-rows CSV download', () => {
  it('escapes = + - @ tab and CR at the start of a cell, keeps -12.5, quotes as CSV', async () => {
    const res = await fetch(`${dashboard.url}/runs/${runId}/refused.csv?task=load`, { headers: { cookie: await sessionCookie() } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.toString('utf8')).toBe(EXPECTED);
    // No cell of the body starts with a formula character (cells split by our own reading of the bytes).
    const starts = bytes.toString('utf8').split('\n').slice(1, -1).flatMap((line) => line.split(',').map((cell) => cell.replace(/^"/, '')[0]));
    expect(starts.filter((c) => c !== undefined && '=+@\t\r'.includes(c))).toEqual([]);
  });
});
