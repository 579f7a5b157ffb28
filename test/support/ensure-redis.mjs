#!/usr/bin/env node
// Makes sure `redis-server` is on PATH before the tests start (they start a private one).
// Debian/Ubuntu as root: installs it with apt-get. Elsewhere: one line saying what to install.
import { execSync, spawnSync } from 'node:child_process';

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

if (process.env.REDIS_URL || has('redis-server')) process.exit(0);

const isRoot = process.getuid?.() === 0;
if (isRoot && has('apt-get')) {
  console.log('redis-server not found: installing it with apt-get (Debian package redis-server)…');
  try {
    execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server', { stdio: 'inherit' });
    process.exit(0);
  } catch {
    console.error('tests need redis-server: `apt-get install redis-server` failed; install it, or set REDIS_URL to a running Redis');
    process.exit(1);
  }
}
console.error(
  'tests need redis-server on PATH: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or set REDIS_URL to a running Redis',
);
process.exit(1);
