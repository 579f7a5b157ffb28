/**
 * docker-compose.yml agrees with the code: the services exist, every role runs a real `trib`
 * subcommand, every env var a role gets is a config key (and the required ones are there),
 * healthchecks exist, and the worker can be scaled.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { commandPaths } from '../../cli/main.ts';
import { CONFIG_KEYS } from '../../engine/config.ts';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
  container_name?: string;
  ports?: string[];
}

const compose = parse(fs.readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const ROLES = ['migrate', 'scheduler', 'worker', 'dashboard'];
const REQUIRED_ENV = ['DATABASE_URL', 'REDIS_URL', 'QUEUE_BACKEND', 'DASHBOARD_TOKEN'];

describe('docker-compose.yml', () => {
  it('has postgres, redis and every role', () => {
    expect(Object.keys(services).sort()).toEqual(['dashboard', 'migrate', 'postgres', 'redis', 'scheduler', 'worker']);
    expect(services.postgres.image).toMatch(/^postgres:16/);
    expect(services.redis.image).toMatch(/^redis:7/);
  });

  it('runs a real trib subcommand in every role', () => {
    const known = commandPaths();
    for (const role of ROLES) {
      const [bin, ...args] = services[role].command ?? [];
      expect(bin, role).toBe('trib');
      expect(known, `${role}: trib ${args.join(' ')}`).toContain(args.join(' '));
    }
    expect(services.worker.command).toEqual(['trib', 'worker']);
  });

  it('gives roles only config keys, with the required ones and the redis backend', () => {
    for (const role of ROLES) {
      const env = services[role].environment ?? {};
      for (const name of Object.keys(env)) expect(CONFIG_KEYS, `${role}: ${name}`).toContain(name);
      for (const name of REQUIRED_ENV) expect(env[name], `${role}: ${name}`).toBeTruthy();
      expect(env.QUEUE_BACKEND).toBe('redis');
      expect(env.DASHBOARD_TOKEN).toBe('${DASHBOARD_TOKEN:?set DASHBOARD_TOKEN}');
    }
    expect(services.dashboard.environment?.DASHBOARD_HOST).toBe('0.0.0.0');
  });

  it('waits for healthy services and the migration', () => {
    expect(services.postgres.healthcheck?.test.toString()).toContain('pg_isready');
    expect(services.redis.healthcheck?.test.toString()).toContain('redis-cli');
    expect(services.dashboard.healthcheck?.test.toString()).toContain('/api/health');
    expect(services.migrate.depends_on?.postgres.condition).toBe('service_healthy');
    for (const role of ['scheduler', 'worker', 'dashboard']) {
      expect(services[role].depends_on?.postgres.condition, role).toBe('service_healthy');
      expect(services[role].depends_on?.redis.condition, role).toBe('service_healthy');
      expect(services[role].depends_on?.migrate.condition, role).toBe('service_completed_successfully');
    }
  });

  it('lets the worker scale and exposes the dashboard on loopback only', () => {
    expect(services.worker.container_name).toBeUndefined();
    expect(services.worker.ports).toBeUndefined();
    expect(services.dashboard.ports).toEqual(['127.0.0.1:8080:8080']);
  });

  it('builds an image whose trib is the package bin', () => {
    const dockerfile = fs.readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-slim/m);
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/bin\/trib\.mjs \/usr\/local\/bin\/trib/);
  });
});
