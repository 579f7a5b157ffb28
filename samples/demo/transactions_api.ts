/**
 * W4 demo: starts the fake transactions API (seeded) on a free local port for the demo runs and
 * points the DAG at it; runs write their reports to `<dir>/reports`. close() stops the API.
 */
import path from 'node:path';
import { startFakeTransactionsApi } from '../w4-fake-api.ts';
import type { DemoPipeline } from './types.ts';

/** Records the API holds at start: a few pages at the DAG's page size, every report month filled. */
const RECORDS = 1000;

export const demo: DemoPipeline = {
  dagId: 'transactions_api',
  async prepare({ dir, seed, startDate }) {
    // The API's clock starts at the first demo run's logical time: every record is older.
    const api = await startFakeTransactionsApi({ seed, records: RECORDS, port: 0, now: `${startDate}T06:00:00Z` });
    return {
      params: { apiUrl: `${api.url}/transactions`, reportDir: path.join(dir, 'reports') },
      close: () => api.close(),
    };
  },
};
