/**
 * The timers `MultiRaftNode` runs on. Production uses the process's timers; the deterministic
 * simulator (src/testing/sim-multi) passes virtual ones, so the same node code runs under a
 * seed (DESIGN decision 10).
 */
export interface RaftScheduler {
  /** Calls `callback` every `intervalMs` until the returned function is called. */
  repeat(intervalMs: number, callback: () => void): () => void;
  /** Runs `callback` once, after the current macrotask and its microtasks (`setImmediate`). */
  soon(callback: () => void): void;
}

/** The process's timers. */
export const realTimers: RaftScheduler = {
  repeat(intervalMs, callback) {
    const timer = setInterval(callback, intervalMs);
    return () => clearInterval(timer);
  },
  soon(callback) {
    setImmediate(callback);
  },
};
