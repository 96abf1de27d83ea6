import type { Logger } from 'pino';

/** Something with appended-but-not-durable data: a partition's replicated log. */
export interface FlushTarget {
  /** Makes everything appended so far durable and acknowledges what became durable. */
  flush(): Promise<void>;
}

/**
 * Group commit (DESIGN decision 5): one fsync cycle covers every partition with pending writes
 * on this broker, so a thousand concurrent produces cost one fsync round, not a thousand.
 *
 * `intervalMs > 0`: a cycle runs once per tick, the tick armed only while something is dirty
 * (an idle broker has no timer). `intervalMs === 0`: a cycle starts on the next turn of the event
 * loop, which coalesces every produce that arrived in the same I/O burst; produces arriving while
 * a cycle runs wait for the next one.
 */
export class GroupCommit {
  private dirty = new Set<FlushTarget>();
  private running = false;
  private armed: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;
  /** Completed cycles, for metrics and tests. */
  cycles = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  markDirty(target: FlushTarget): void {
    this.dirty.add(target);
    this.arm();
  }

  /** Runs cycles until nothing is dirty (used by stop()). */
  async drain(): Promise<void> {
    while (this.running || this.dirty.size > 0) {
      if (!this.running) {
        this.disarm();
        await this.cycle();
      } else {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      }
    }
  }

  async stop(): Promise<void> {
    await this.drain();
    this.stopped = true;
    this.disarm();
  }

  private arm(): void {
    if (this.armed !== null || this.running || this.stopped) return;
    if (this.intervalMs === 0) {
      this.armed = setImmediate(() => {
        this.armed = null;
        void this.cycle();
      });
    } else {
      this.armed = setTimeout(() => {
        this.armed = null;
        void this.cycle();
      }, this.intervalMs);
    }
  }

  private disarm(): void {
    if (this.armed === null) return;
    if (this.intervalMs === 0) clearImmediate(this.armed as NodeJS.Immediate);
    else clearTimeout(this.armed as NodeJS.Timeout);
    this.armed = null;
  }

  private async cycle(): Promise<void> {
    if (this.running || this.dirty.size === 0) return;
    this.running = true;
    const targets = [...this.dirty];
    this.dirty.clear();
    try {
      // Each target reports its own failure to its waiting produces; a failed flush of one
      // partition must not hold back the others.
      const results = await Promise.allSettled(targets.map((target) => target.flush()));
      for (const result of results) {
        if (result.status === 'rejected')
          this.logger.error({ err: result.reason }, 'group commit flush failed');
      }
      this.cycles++;
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
      if (this.dirty.size > 0) this.arm();
    }
  }
}
