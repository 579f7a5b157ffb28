/**
 * The engine decides trigger rules in SQL (trib_decide, trib_run_outcome in engine/sql/trigger-rules.sql).
 * The same table of cases as the TypeScript reference (test/support/trigger-rules.ts) is asserted
 * against those functions in a real, migrated database, and then every rule × every multiset of up
 * to three upstream states is compared with the reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_STATES, TRIGGER_RULES, type TaskState } from '../../../engine/types.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { decide, MIXES, OUTCOMES, runOutcome, TABLE } from '../../support/trigger-rules.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** One query for many cases: [rule, states] → trib_decide's answer, in order. */
async function sqlDecide(cases: [string, TaskState[]][]): Promise<string[]> {
  const { rows } = await db.pool.query<{ decision: string }>(
    `SELECT trib_decide(c.rule, ARRAY(SELECT jsonb_array_elements_text(c.states))) AS decision
     FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (rule text, states jsonb)) WITH ORDINALITY AS c(rule, states, i) ORDER BY i`,
    [JSON.stringify(cases.map(([rule, states]) => ({ rule, states })))],
  );
  return rows.map((r) => r.decision);
}

/** Every multiset of `size` states (order does not matter to a rule). */
function multisets(size: number, from = 0): TaskState[][] {
  if (size === 0) return [[]];
  const out: TaskState[][] = [];
  for (let i = from; i < TASK_STATES.length; i++) {
    for (const rest of multisets(size - 1, i)) out.push([TASK_STATES[i], ...rest]);
  }
  return out;
}

describe('trib_decide', () => {
  it('answers the shared table, cell by cell', async () => {
    const cells = TRIGGER_RULES.flatMap((rule) => Object.entries(MIXES).map(([mix, states]) => ({ rule, mix, states })));
    const answers = await sqlDecide(cells.map((c) => [c.rule, c.states]));
    const wrong = cells.filter((c, i) => answers[i] !== TABLE[c.rule][c.mix]).map((c, i) => `${c.rule} ${c.mix}: ${answers[i]}`);
    expect(wrong).toEqual([]);
    expect(answers).toHaveLength(TRIGGER_RULES.length * Object.keys(MIXES).length);
  });

  it('agrees with the TypeScript reference on every rule and every mix of up to three upstream states', async () => {
    const cases = TRIGGER_RULES.flatMap((rule) => [0, 1, 2, 3].flatMap((n) => multisets(n).map((states): [string, TaskState[]] => [rule, states])));
    const answers = await sqlDecide(cases);
    const disagreements = cases
      .map(([rule, states], i) => ({ rule, states, sql: answers[i], reference: decide(rule as never, states) }))
      .filter((c) => c.sql !== c.reference);
    expect(disagreements).toEqual([]);
    // Multisets of n from k states: C(k + n - 1, n) — 1 + 9 + 45 + 165 for the 9 task states.
    const k = TASK_STATES.length;
    expect(cases).toHaveLength(TRIGGER_RULES.length * (1 + k + (k * (k + 1)) / 2 + (k * (k + 1) * (k + 2)) / 6));
  });
});

describe('trib_run_outcome', () => {
  it('answers the shared table and agrees with the reference on every leaf mix of up to three', async () => {
    const mixes = [...OUTCOMES.map(([leaves]) => leaves), ...[1, 2, 3].flatMap((n) => multisets(n))];
    const { rows } = await db.pool.query<{ outcome: string }>(
      `SELECT trib_run_outcome(ARRAY(SELECT jsonb_array_elements_text(m.leaves))) AS outcome
       FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS m(leaves, i) ORDER BY i`,
      [JSON.stringify(mixes)],
    );
    OUTCOMES.forEach(([leaves, outcome], i) => expect(rows[i].outcome, JSON.stringify(leaves)).toBe(outcome));
    const disagreements = mixes.filter((leaves, i) => rows[i].outcome !== runOutcome(leaves));
    expect(disagreements).toEqual([]);
  });
});
