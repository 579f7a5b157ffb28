/** Every shipped DAG's demo, for `trib demo` (all, or one by DAG id) and `trib standalone`. */
import { demo as creditPlatformDemo } from './credit_platform.ts';
import { customerRatingsDemo } from './customer_ratings.ts';
import { demo as merchantActivityDemo } from './merchant_activity.ts';
import { demo as transactionsApiDemo } from './transactions_api.ts';
import type { DemoPipeline } from './types.ts';

export type { DemoData, DemoInput, DemoPipeline } from './types.ts';

export const DEMO_PIPELINES: DemoPipeline[] = [customerRatingsDemo, creditPlatformDemo, merchantActivityDemo, transactionsApiDemo];
