/**
 * Virtual time for the multi-group simulator: a min-heap of events ordered by (time, insertion
 * order), so events at one instant run in a fixed order and a seed replays exactly. The driver
 * runs one event, then lets the promise continuations it caused finish (the production node
 * awaits its disk) before the next event: see `MultiSimulation.runUntil`.
 */
import type { RaftScheduler } from '../../cluster/raft-scheduler.js';

interface TimedEvent {
  atMs: number;
  sequence: number;
  run: () => void;
}

export class VirtualTime {
  private readonly heap: TimedEvent[] = [];
  private sequence = 0;
  nowMs = 0;

  get pending(): number {
    return this.heap.length;
  }

  /** Runs `run` `delayMs` from now (never in the past). */
  after(delayMs: number, run: () => void): void {
    this.push({ atMs: this.nowMs + Math.max(0, delayMs), sequence: this.sequence++, run });
  }

  /** Runs the next event due at or before `untilMs`; false when there is none (time moves to `untilMs`). */
  runNext(untilMs: number): boolean {
    const next = this.heap[0];
    if (next === undefined || next.atMs > untilMs) {
      this.nowMs = Math.max(this.nowMs, untilMs);
      return false;
    }
    this.pop();
    this.nowMs = next.atMs;
    next.run();
    return true;
  }

  private less(a: TimedEvent, b: TimedEvent): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.sequence < b.sequence);
  }

  private push(event: TimedEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i] as TimedEvent, heap[parent] as TimedEvent)) break;
      [heap[i], heap[parent]] = [heap[parent] as TimedEvent, heap[i] as TimedEvent];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop() as TimedEvent;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.less(heap[left] as TimedEvent, heap[smallest] as TimedEvent))
        smallest = left;
      if (right < heap.length && this.less(heap[right] as TimedEvent, heap[smallest] as TimedEvent))
        smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest] as TimedEvent, heap[i] as TimedEvent];
      i = smallest;
    }
  }
}

/**
 * One node incarnation's clock: local intervals last `1 / rate` as long in virtual time (clock
 * drift), and nothing it scheduled runs once the incarnation died (`alive()` false).
 */
export class NodeScheduler implements RaftScheduler {
  constructor(
    private readonly time: VirtualTime,
    private readonly rate: number,
    private readonly alive: () => boolean,
  ) {}

  repeat(intervalMs: number, callback: () => void): () => void {
    let cancelled = false;
    const fire = () => {
      if (cancelled || !this.alive()) return;
      this.time.after(intervalMs / this.rate, fire);
      callback();
    };
    this.time.after(intervalMs / this.rate, fire);
    return () => {
      cancelled = true;
    };
  }

  soon(callback: () => void): void {
    this.time.after(0, () => {
      if (this.alive()) callback();
    });
  }

  /** Runs `callback` after `localMs` of this node's clock, unless the node died. */
  after(localMs: number, callback: () => void): void {
    this.time.after(localMs / this.rate, () => {
      if (this.alive()) callback();
    });
  }
}
