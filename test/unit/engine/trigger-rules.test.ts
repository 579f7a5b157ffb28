/** The trigger-rule table × upstream state mixes, and the run outcome leaf rule, on the TypeScript reference (pure). */
import { describe, expect, it } from 'vitest';
import { TASK_STATES, TRIGGER_RULES } from '../../../engine/types.ts';
import { decide, MIXES, OUTCOMES, runOutcome, TABLE } from '../../support/trigger-rules.ts';

describe('decide', () => {
  for (const rule of TRIGGER_RULES) {
    for (const [mix, states] of Object.entries(MIXES)) {
      it(`${rule} with upstream [${states.join(', ')}] → ${TABLE[rule][mix]}`, () => {
        expect(decide(rule, states)).toBe(TABLE[rule][mix]);
      });
    }
  }

  it('does not depend on the order of upstream states', () => {
    for (const rule of TRIGGER_RULES) {
      for (const states of Object.values(MIXES)) {
        expect(decide(rule, [...states].reverse())).toBe(decide(rule, states));
      }
    }
  });

  it('a single upstream in any state: all_success runs only after success', () => {
    const runs = TASK_STATES.filter((s) => decide('all_success', [s]) === 'run');
    expect(runs).toEqual(['success']);
  });
});

describe('runOutcome', () => {
  it.each(OUTCOMES)('leaves %j → %s', (leaves, outcome) => {
    expect(runOutcome(leaves)).toBe(outcome);
  });
});
