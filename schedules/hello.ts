/**
 * Demo DAG (`trib standalone` triggers it): extract → say (mapped, one task per greeting) → report,
 * every day at 06:00 UTC, no catch-up. Only `noop` tasks: it shows the engine, not data work.
 */
import { defineDag } from '../engine/dag.ts';

export default defineDag({
  id: 'hello',
  description: 'Demo: a list fans out to three mapped tasks, then one report',
  schedule: { cron: '0 6 * * *', timezone: 'UTC' },
  catchup: false,
  tasks: {
    extract: { kind: 'noop', options: { result: { greetings: ['hello', 'hallo', 'hola'] } } },
    say: { kind: 'noop', upstream: ['extract'], mapOver: { task: 'extract', path: 'greetings' } },
    report: { kind: 'noop', options: { result: { said: 3 } }, upstream: ['say'] },
  },
});
