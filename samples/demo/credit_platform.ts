/**
 * W2 demo: `days` daily snapshots of the ten credit-platform extracts (seeded, every defect kind
 * planted, truth.json beside them) under `<dir>/data`; runs write the scorecard, checks and
 * seller-health reports to `<dir>/reports`.
 */
import path from 'node:path';
import { generateCreditPlatform } from '../w2-credit-platform.ts';
import type { DemoPipeline } from './types.ts';

/** Scale of the real extracts (1 = ~219,000 rows): ~22,000 rows a day, every defect planted. */
const SCALE = 0.1;

export const demo: DemoPipeline = {
  dagId: 'credit_platform',
  async prepare({ dir, startDate, days, seed }) {
    const dataDir = path.join(dir, 'data');
    await generateCreditPlatform({ dir: dataDir, startDate, days, seed, size: SCALE });
    return { params: { dataDir, reportDir: path.join(dir, 'reports') } };
  },
};
