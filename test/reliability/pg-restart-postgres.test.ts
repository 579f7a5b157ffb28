/** test/reliability/pg-restart-suite.ts on BullMQ's Postgres backend (the embedded default): the queue goes down with the database. */
import { pgRestartSuite } from './pg-restart-suite.ts';

pgRestartSuite('postgres');
