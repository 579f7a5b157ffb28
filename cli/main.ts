/**
 * The `trib` program: `buildProgram()` (commander, every command with --help; also used by tests to
 * check docker-compose against the real commands) and `main(argv)`, which reads `.env` from the
 * working directory when there is one (never over a variable already set), runs the program and
 * turns any failure into one stderr line and an exit code (cli/report.ts).
 * Startup stays light: command files import only commander, ../args.ts, ../format.ts and types at
 * their top, and load what an action needs with `await import()` inside it.
 */
import fs from 'node:fs';
import { Command } from 'commander';
import { addConnectionCommands } from './commands/connections.ts';
import { addDagCommands } from './commands/dags.ts';
import { addDbCommands } from './commands/db.ts';
import { addDemoCommand } from './commands/demo.ts';
import { addInitCommand } from './commands/init.ts';
import { addRoleCommands } from './commands/roles.ts';
import { addRunCommands } from './commands/runs.ts';
import { addTaskCommands } from './commands/tasks.ts';
import { addUserCommands } from './commands/users.ts';
import { ownPackage } from './own-package.ts';
import { reportFailure } from './report.ts';

/** Commander settings every (sub)command needs: throw instead of exiting, print no error text itself. */
function quiet(command: Command): void {
  command.exitOverride();
  command.configureOutput({ outputError: () => undefined });
  for (const sub of command.commands) quiet(sub);
}

export function buildProgram(): Command {
  const program = new Command('trib')
    .description('Tributary: Airflow-style DAGs on BullMQ queues with Postgres as the record')
    .version(ownPackage().version)
    .showSuggestionAfterError(true)
    .addHelpText('after', '\nConfiguration comes from the environment (and a .env file in the working directory): DATABASE_URL, REDIS_URL, QUEUE_BACKEND, DASHBOARD_TOKEN, DAGS_DIR, …');
  addDagCommands(program);
  addRunCommands(program);
  addTaskCommands(program);
  addRoleCommands(program);
  addUserCommands(program);
  addDbCommands(program);
  addConnectionCommands(program);
  addDemoCommand(program);
  addInitCommand(program);
  quiet(program);
  return program;
}

/** Every command path, e.g. ['dags list', 'trigger', 'run show', …]. */
export function commandPaths(program: Command = buildProgram()): string[] {
  const walk = (cmd: Command, prefix: string): string[] =>
    cmd.commands.flatMap((sub) => {
      const name = prefix ? `${prefix} ${sub.name()}` : sub.name();
      return sub.commands.length > 0 ? walk(sub, name) : [name];
    });
  return walk(program, '');
}

export async function main(argv: string[]): Promise<void> {
  const fail = (err: unknown) => process.exit(reportFailure(err));
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  let exitCode = 0;
  try {
    // process.loadEnvFile keeps a variable the environment already has.
    if (fs.existsSync('.env')) process.loadEnvFile('.env');
    await buildProgram().parseAsync(argv);
  } catch (err) {
    exitCode = reportFailure(err);
  }
  process.exit(exitCode);
}
