/**
 * The simulator's virtual clock: a min-heap of events ordered by (time, insertion order), so
 * two events at the same instant run in a fixed order and a seed replays exactly.
 */
export interface SimEvent {
  atMs: number;
  sequence: number;
  run: () => void;
}

export class EventQueue {
  private readonly heap: SimEvent[] = [];
  private sequence = 0;
  nowMs = 0;
  /** Events run so far (also those before a failure interrupted a run). */
  eventsRun = 0;

  get size(): number {
    return this.heap.length;
  }

  schedule(delayMs: number, run: () => void): void {
    this.push({ atMs: this.nowMs + Math.max(0, delayMs), sequence: this.sequence++, run });
  }

  /** Runs events up to and including `untilMs`; returns how many ran. */
  runUntil(untilMs: number): number {
    let ran = 0;
    while (this.heap.length > 0 && this.heap[0]!.atMs <= untilMs) {
      const event = this.pop();
      this.nowMs = event.atMs;
      this.eventsRun++;
      event.run();
      ran++;
    }
    this.nowMs = untilMs;
    return ran;
  }

  private less(a: SimEvent, b: SimEvent): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.sequence < b.sequence);
  }

  private push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): SimEvent {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.less(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && this.less(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}
