/**
 * `trib connections list|test <name>`: the named connections of this environment
 * (`TRIB_CONN_<NAME>`, `TRIB_CONNECTIONS_FILE`; engine/connections.ts), their secrets masked. `test`
 * tries one once and prints one line; a failure is one line on stderr and exit 1.
 */
import type { Command } from 'commander';
import { positiveIntArg } from '../args.ts';
import { table } from '../format.ts';

export function addConnectionCommands(program: Command): void {
  const connections = program.command('connections').description('named connections tasks work on (TRIB_CONN_<NAME>=<url>, TRIB_CONNECTIONS_FILE); secrets never shown');
  connections.command('list')
    .description('every connection: name, kind, URL with its secrets masked, where it is defined')
    .action(async () => {
      const { processConnections } = await import('../../engine/connections.ts');
      const rows = processConnections().list();
      if (rows.length === 0) {
        console.log('no connections: set TRIB_CONN_<NAME>=postgres://… or https://…, or TRIB_CONNECTIONS_FILE');
        return;
      }
      console.log(table(['NAME', 'KIND', 'URL', 'DEFINED BY'], rows.map((c) => [c.name, c.kind, c.url, c.source])));
    });
  connections.command('test')
    .description('postgres: connect, SELECT 1 and show the server version; http: HEAD (or GET) the URL with its credentials')
    .argument('<name>', 'connection name (TRIB_CONN_WAREHOUSE is "warehouse")')
    .option('--timeout <ms>', 'give up after this long', positiveIntArg('--timeout'), 10_000)
    .action(async (name: string, opts: { timeout: number }) => {
      const { processConnections, testConnection } = await import('../../engine/connections.ts');
      console.log(await testConnection(processConnections().get(name), opts.timeout));
    });
}
