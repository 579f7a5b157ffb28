/**
 * A planted-truth CSV for the chaos load: `rows` lines of item_id,label,qty in a seeded order,
 * every `invalidEvery`-th one refused (negative qty) and every `paddedEvery`-th label padded with
 * spaces (a recorded trim). The truth is computed here, from the plan, not from the loader.
 */
import fs from 'node:fs';
import { once } from 'node:events';

export interface ItemsTruth {
  rows: number;
  valid: number;
  invalid: number;
  /** Trim coercions of valid rows. */
  trimmed: number;
  /** Sum of qty over valid rows. */
  qtySum: number;
}

export async function writeItemsFile(file: string, rows: number, invalidEvery = 97, paddedEvery = 13): Promise<ItemsTruth> {
  const out = fs.createWriteStream(file);
  const truth: ItemsTruth = { rows, valid: 0, invalid: 0, trimmed: 0, qtySum: 0 };
  out.write('item_id,label,qty\n');
  let chunk = '';
  for (let i = 1; i <= rows; i++) {
    const invalid = i % invalidEvery === 0;
    const padded = i % paddedEvery === 0;
    const qty = invalid ? -1 : i % 1000;
    if (invalid) truth.invalid++;
    else {
      truth.valid++;
      truth.qtySum += qty;
      if (padded) truth.trimmed++;
    }
    chunk += `${i},${padded ? `  item ${i}  ` : `item ${i}`},${qty}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return truth;
}
