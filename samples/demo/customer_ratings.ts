/**
 * W1 demo: `days` days of the three agencies' files (seeded, with planted defects and truth.json)
 * under `<dir>/data`; runs write their reports to `<dir>/reports`.
 */
import path from 'node:path';
import { generateCustomerRatings } from '../w1-customer-ratings.ts';
import type { DemoPipeline } from './types.ts';

/** Rows per agency file: enough to show every defect kind, small enough to run in seconds. */
const ROWS_PER_FILE = 1000;

export const customerRatingsDemo: DemoPipeline = {
  dagId: 'customer_ratings',
  async prepare({ dir, startDate, days, seed }) {
    const dataDir = path.join(dir, 'data');
    await generateCustomerRatings({ dir: dataDir, startDate, days, seed, size: ROWS_PER_FILE });
    return { params: { dataDir, reportDir: path.join(dir, 'reports') } };
  },
};
