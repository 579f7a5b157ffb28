import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { demo } from '../../../samples/demo/transactions_api.ts';
import transactionsApi from '../../../schedules/transactions_api.ts';

it('the W4 demo serves the fake API at params.apiUrl until close()', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'w4-demo-'));
  const data = await demo.prepare({ dir, startDate: '2025-06-01', days: 2, seed: 3 });
  try {
    expect(demo.dagId).toBe(transactionsApi.id);
    expect(Object.keys(data.params).sort()).toEqual(Object.keys(transactionsApi.params ?? {}).sort());
    expect(data.params.reportDir).toBe(path.join(dir, 'reports'));
    const res = await fetch(`${String(data.params.apiUrl)}?page=1&page_size=1000`);
    const body = (await res.json()) as { data: Array<{ last_modified: string }>; next_page: number | null };
    expect(body.data).toHaveLength(1000);
    expect(body.data.every((r) => r.last_modified < '2025-06-01T06:00:00')).toBe(true);
  } finally {
    await data.close?.();
    await fs.rm(dir, { recursive: true, force: true });
  }
  await expect(fetch(String(data.params.apiUrl))).rejects.toThrow();
});
