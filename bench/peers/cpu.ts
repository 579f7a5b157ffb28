/**
 * CPU time from /proc (Linux), in ms: this process, a Postgres server (the postmaster, its live
 * children, and the children it has reaped — a closed connection's backend counts too) and a
 * redis-server. Read before and after a phase; the difference is what the phase cost.
 */
import fs from 'node:fs';

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

interface Stat {
  ppid: number;
  /** utime + stime, in ticks. */
  own: number;
  /** cutime + cstime: reaped children, in ticks. */
  reaped: number;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // exited between the listing and the read
  }
  // Fields after the command (which may hold spaces) start at its closing parenthesis.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
}

/** Every process's stat, by pid (one pass over /proc). */
function allStats(): Map<number, Stat> {
  const stats = new Map<number, Stat>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(Number(entry), stat);
  }
  return stats;
}

export interface CpuSample {
  node: number;
  postgres: number;
  redis: number;
}

export interface CpuMeter {
  sample(): CpuSample;
}

/** `postmaster` and `redis` are server pids (0 = not measured). */
export function cpuMeter(postmaster: number, redis: number): CpuMeter {
  return {
    sample() {
      const self = process.cpuUsage();
      const stats = allStats();
      const server = stats.get(postmaster);
      let postgres = server ? server.own + server.reaped : 0;
      for (const stat of stats.values()) if (stat.ppid === postmaster) postgres += stat.own;
      return {
        node: (self.user + self.system) / 1000,
        postgres: postgres * TICK_MS,
        redis: (stats.get(redis)?.own ?? 0) * TICK_MS,
      };
    },
  };
}

export function cpuSince(before: CpuSample, after: CpuSample): CpuSample {
  return { node: after.node - before.node, postgres: after.postgres - before.postgres, redis: after.redis - before.redis };
}

