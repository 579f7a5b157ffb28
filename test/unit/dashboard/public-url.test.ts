/**
 * PUBLIC_URL: the base of the run links callbacks send (engine option `dashboardUrl`, set by
 * cli/runtime.ts createEngine); without it the dashboard's own host and port; a value that is not
 * an http(s) URL refused at start, naming the variable. No connection is opened.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../../cli/runtime.ts';
import { loadConfig } from '../../../engine/config.ts';

async function linkBase(env: Record<string, string>): Promise<string | undefined> {
  const engine = createEngine(loadConfig({ QUEUE_BACKEND: 'postgres', ...env }), 'postgres://nobody@127.0.0.1:9/none', new Map(), pino({ level: 'silent' }));
  try {
    return engine.options.dashboardUrl;
  } finally {
    await engine.close();
  }
}

describe('PUBLIC_URL', () => {
  it('is the base of callback links when set, else http://DASHBOARD_HOST:DASHBOARD_PORT', async () => {
    expect(await linkBase({ PUBLIC_URL: 'https://tributary.example.com/ops' })).toBe('https://tributary.example.com/ops');
    expect(await linkBase({ DASHBOARD_HOST: '10.0.0.5', DASHBOARD_PORT: '9090' })).toBe('http://10.0.0.5:9090');
  });

  it('refuses a value that is not an http(s) URL, naming the variable', () => {
    for (const bad of ['tributary.example.com', 'ftp://tributary.example.com']) {
      expect(() => loadConfig({ PUBLIC_URL: bad })).toThrow(/PUBLIC_URL: must be an http\(s\) URL/);
    }
  });
});
