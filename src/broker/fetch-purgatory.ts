import type { ReplicatedLog } from './replicated-log.js';

interface Waiter {
  logs: readonly ReplicatedLog[];
  attempt(): Promise<boolean>;
  finish(): void;
  /** An attempt is running; `again` asks for one more when it ends (a commit came meanwhile). */
  running: boolean;
  again: boolean;
  done: boolean;
}

/**
 * Fetches waiting for data (`maxWaitMs` / `minBytes`). A waiter is re-checked only when the high
 * watermark of one of its partitions moves (the logs' `'commit'` event); the one timer per waiter
 * is its `maxWaitMs` expiry. Nothing polls.
 */
export class FetchPurgatory {
  private readonly waitersByLog = new Map<ReplicatedLog, Set<Waiter>>();
  private readonly listeners = new Map<ReplicatedLog, () => void>();
  private readonly all = new Set<Waiter>();

  /** Number of fetches waiting (metrics, tests). */
  get size(): number {
    return this.all.size;
  }

  /**
   * Resolves when `attempt()` returns true after a high-watermark move of one of `logs`, when
   * `maxWaitMs` passes, or when the purgatory shuts down — whichever comes first. The caller
   * builds its response afterwards either way.
   */
  wait(logs: readonly ReplicatedLog[], maxWaitMs: number, attempt: () => Promise<boolean>): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const waiter: Waiter = {
        logs,
        attempt,
        running: false,
        again: false,
        done: false,
        finish: () => {
          if (waiter.done) return;
          waiter.done = true;
          if (timer !== null) clearTimeout(timer);
          timer = null;
          this.remove(waiter);
          resolve();
        },
      };
      this.all.add(waiter);
      for (const log of logs) this.watch(log, waiter);
      timer = setTimeout(() => waiter.finish(), Math.max(0, maxWaitMs));
    });
  }

  /** Completes every waiting fetch (broker stop). */
  shutdown(): void {
    for (const waiter of [...this.all]) waiter.finish();
  }

  private watch(log: ReplicatedLog, waiter: Waiter): void {
    let waiters = this.waitersByLog.get(log);
    if (waiters === undefined) {
      waiters = new Set();
      this.waitersByLog.set(log, waiters);
      const listener = (): void => this.onCommit(log);
      this.listeners.set(log, listener);
      log.on('commit', listener);
    }
    waiters.add(waiter);
  }

  private onCommit(log: ReplicatedLog): void {
    const waiters = this.waitersByLog.get(log);
    if (waiters === undefined) return;
    for (const waiter of [...waiters]) this.retry(waiter);
  }

  private retry(waiter: Waiter): void {
    if (waiter.done) return;
    if (waiter.running) {
      waiter.again = true;
      return;
    }
    waiter.running = true;
    waiter.again = false;
    waiter
      .attempt()
      .catch(() => true) // let the handler build (and report) the response
      .then((satisfied) => {
        waiter.running = false;
        if (satisfied) waiter.finish();
        else if (waiter.again) this.retry(waiter);
      });
  }

  private remove(waiter: Waiter): void {
    this.all.delete(waiter);
    for (const log of waiter.logs) {
      const waiters = this.waitersByLog.get(log);
      if (waiters === undefined) continue;
      waiters.delete(waiter);
      if (waiters.size === 0) {
        this.waitersByLog.delete(log);
        const listener = this.listeners.get(log);
        if (listener !== undefined) log.off('commit', listener);
        this.listeners.delete(log);
      }
    }
  }
}
