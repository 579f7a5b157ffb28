/**
 * bench:pipelines — two shipped DAGs end to end through the real engine: the credit platform at
 * real size (~217,000 rows, bench/pipelines-credit.ts), one merchant-activity day of 1,000,000
 * events against raw COPY of the same rows (bench/pipelines-merchant.ts), and that day loaded into a
 * warehouse connection on a second Postgres server against raw COPY into that server
 * (bench/pipelines-warehouse.ts). Progress on stderr; the last stdout line is one JSON object.
 * Goals: credit < 4 s, merchant and warehouse ratios ≥ 0.6, truths match.
 */
import { benchCreditPlatform } from './pipelines-credit.ts';
import { benchMerchantDay } from './pipelines-merchant.ts';
import { benchWarehouseDay } from './pipelines-warehouse.ts';

const credit = await benchCreditPlatform();
process.stderr.write(`[bench:pipelines] credit platform: ${JSON.stringify(credit)}\n`);
const merchant = await benchMerchantDay();
process.stderr.write(`[bench:pipelines] merchant day: ${JSON.stringify(merchant)}\n`);
const warehouse = await benchWarehouseDay();
process.stderr.write(`[bench:pipelines] merchant day into a warehouse: ${JSON.stringify(warehouse)}\n`);

const { tasks: creditTasks, ...creditTotals } = credit;
const { tasks: merchantTasks, ...merchantTotals } = merchant;
const { tasks: warehouseTasks, ...warehouseTotals } = warehouse;
const goals = {
  credit_platform_under_4s: credit.credit_platform_seconds < 4,
  merchant_ratio_at_least_0_6: merchant.merchant_ratio_vs_copy >= 0.6,
  warehouse_ratio_at_least_0_6: warehouse.warehouse_ratio_vs_copy >= 0.6,
  truths_match: credit.credit_truth_match && merchant.merchant_truth_match && warehouse.warehouse_truth_match,
};
console.log(JSON.stringify({
  ...creditTotals, ...merchantTotals, ...warehouseTotals, goals,
  tasks: { credit_platform: creditTasks, merchant_activity: merchantTasks, merchant_warehouse: warehouseTasks },
}));
