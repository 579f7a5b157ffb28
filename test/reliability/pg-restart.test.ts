/** test/reliability/pg-restart-suite.ts on Redis queues. */
import { pgRestartSuite } from './pg-restart-suite.ts';

pgRestartSuite('redis');
