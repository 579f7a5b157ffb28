/**
 * bench:pipelines — two shipped DAGs end to end through the real engine: the credit platform at
 * real size (~217,000 rows, bench/pipelines-credit.ts) and one merchant-activity day of 1,000,000
 * events against raw COPY of the same rows (bench/pipelines-merchant.ts). Progress on stderr; the
 * last stdout line is one JSON object. Goals: credit < 4 s, merchant ratio ≥ 0.6, truths match.
 */
import { benchCreditPlatform } from './pipelines-credit.ts';
import { benchMerchantDay } from './pipelines-merchant.ts';

const credit = await benchCreditPlatform();
process.stderr.write(`[bench:pipelines] credit platform: ${JSON.stringify(credit)}\n`);
const merchant = await benchMerchantDay();
process.stderr.write(`[bench:pipelines] merchant day: ${JSON.stringify(merchant)}\n`);

const { tasks: creditTasks, ...creditTotals } = credit;
const { tasks: merchantTasks, ...merchantTotals } = merchant;
const goals = {
  credit_platform_under_4s: credit.credit_platform_seconds < 4,
  merchant_ratio_at_least_0_6: merchant.merchant_ratio_vs_copy >= 0.6,
  truths_match: credit.credit_truth_match && merchant.merchant_truth_match,
};
console.log(JSON.stringify({ ...creditTotals, ...merchantTotals, goals, tasks: { credit_platform: creditTasks, merchant_activity: merchantTasks } }));
