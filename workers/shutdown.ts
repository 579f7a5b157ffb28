/**
 * Graceful stop for long-running roles: resolves on the first SIGINT/SIGTERM so the role can let
 * running tasks finish and close connections; a second signal exits at once (code 130).
 */
import type { Logger } from 'pino';

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
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
