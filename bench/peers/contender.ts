/** How many hops a chain has and how many jobs a fan-out adds, the same for every system. */
export interface Sizes {
  hops: number;
  fanout: number;
  concurrency: number;
}

/**
 * What bench:peers asks of each system: a chain of jobs where each job adds the next, a fan-out of
 * jobs added at once, and one job's time from add to the start of its handler. Each system runs
 * three kinds of job on one queue (or DAG set): `hop` adds the next hop, `fan` counts, `ping`
 * reports its start.
 */
export interface Contender {
  name: string;
  /** Adds the first hop; resolves when the last hop's handler ran (the caller times it). */
  chain(): Promise<void>;
  /** Adds the fan-out's jobs at once; resolves when the last one's handler ran. */
  fanout(): Promise<void>;
  /** ms from the add call to the start of the job's handler. */
  addToStart(): Promise<number>;
  close(): Promise<void>;
}

/** A promise resolved by whoever is told the job (or run) it waits for started. */
export class Signal<T = void> {
  private resolve: (value: T) => void = () => undefined;
  wait(): Promise<T> {
    return new Promise<T>((r) => (this.resolve = r));
  }
  fire(value: T): void {
    this.resolve(value);
  }
}

/** The three job shapes every queue peer handles, given what its handler saw. */
export class Jobs {
  readonly chainDone = new Signal();
  readonly fanDone = new Signal();
  readonly started = new Signal<number>();
  private counted = 0;
  private fanTarget = 0;
  private chainTarget = 0;

  expectChain(hops: number): Promise<void> {
    this.chainTarget = hops;
    return this.chainDone.wait();
  }

  expectFan(jobs: number): Promise<void> {
    this.counted = 0;
    this.fanTarget = jobs;
    return this.fanDone.wait();
  }

  /** Runs one job; `addHop` adds the chain's next hop. */
  async run(data: { kind: string; hop?: number; sent?: number }, addHop: (hop: number) => Promise<unknown>): Promise<void> {
    if (data.kind === 'ping') this.started.fire(performance.now() - Number(data.sent));
    else if (data.kind === 'fan') {
      if (++this.counted === this.fanTarget) this.fanDone.fire();
    } else if (data.kind === 'hop') {
      const next = Number(data.hop) + 1;
      if (next < this.chainTarget) await addHop(next);
      else this.chainDone.fire();
    }
  }
}

export async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}
