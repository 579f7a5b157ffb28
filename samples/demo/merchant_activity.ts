/**
 * W3 demo: `days` days of merchant activity files (seeded, with planted duplicates, repeats from
 * the day before, dirty values and `1,250.00` amounts; truth.json beside them) under `<dir>/data`;
 * runs write their five reports to `<dir>/reports`.
 */
import path from 'node:path';
import { generateMerchantActivity } from '../w3-merchant-activity.ts';
import type { DemoPipeline } from './types.ts';

/** Events per day: every defect kind planted many times, still loaded in a second or two. */
const EVENTS_PER_DAY = 5000;

export const demo: DemoPipeline = {
  dagId: 'merchant_activity',
  async prepare({ dir, startDate, days, seed }) {
    const dataDir = path.join(dir, 'data');
    await generateMerchantActivity({ dir: dataDir, startDate, days, seed, size: EVENTS_PER_DAY });
    return { params: { dataDir, reportDir: path.join(dir, 'reports') } };
  },
};
