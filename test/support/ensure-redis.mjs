#!/usr/bin/env node
// Makes sure `redis-server` (the tests start a private one), Debian's `chromium` (the UI tests
// drive it with playwright-core) and `zstd` (the decode tests compress with it) are on PATH before the tests start. Debian/Ubuntu as root:
// installs what is missing with apt-get. Elsewhere: one line saying what to install.
import { execSync, spawnSync } from 'node:child_process';

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

const missing = [
  { package: 'redis-server', present: Boolean(process.env.REDIS_URL) || has('redis-server'), hint: 'or set REDIS_URL to a running Redis (macOS: brew install redis)' },
  { package: 'chromium', present: has('chromium'), hint: 'or set CHROMIUM_PATH to a Chromium/Chrome binary (the UI tests drive it headless)' },
  { package: 'zstd', present: has('zstd'), hint: 'the decode tests make .zst files with the zstd command' },
].filter((m) => !m.present && !(m.package === 'chromium' && process.env.CHROMIUM_PATH));

if (missing.length === 0) process.exit(0);

const names = missing.map((m) => m.package).join(' ');
const isRoot = process.getuid?.() === 0;
if (isRoot && has('apt-get')) {
  console.log(`${names} not found: installing with apt-get (Debian packages ${names})…`);
  try {
    execSync(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${names}`, { stdio: 'inherit' });
    process.exit(0);
  } catch {
    console.error(`tests need ${names}: \`apt-get install ${names}\` failed; install them, ${missing.map((m) => m.hint).join('; ')}`);
    process.exit(1);
  }
}
for (const m of missing) console.error(`tests need ${m.package} on PATH: install it (Debian/Ubuntu: sudo apt-get install ${m.package}), ${m.hint}`);
process.exit(1);
