import type { Logger } from 'pino';
import { RateLimitedLog } from '../log/rate-limited.js';
import { NativeLog, type ScrubCursor } from '../storage/native-log.js';
import type { DamagedBatch } from './replica-repair.js';

/** The scrubber works in ticks this long: each reads about `bytesPerSecond * TICK_MS / 1000`. */
const TICK_MS = 100;
/** A repair that found no healthy copy is tried again after this, doubling up to the maximum. */
const REPAIR_RETRY_MS = 2_000;
const REPAIR_RETRY_MAX_MS = 60_000;

/** What repairs damaged batches (src/broker/replica-repair.ts's ReplicaRepair). */
export interface BatchRepairer {
  /** True for a log of this broker (under its data directory). */
  owns(log: NativeLog): boolean;
  /** True for a log whose batches a peer may hold (a partition replica's). */
  repairable(log: NativeLog): boolean;
  /** Rewrites `damaged` from a peer's healthy copy; resolves to that peer, or undefined. */
  repair(log: NativeLog, damaged: DamagedBatch): Promise<number | undefined>;
}

/** A damaged batch waiting for its repair. */
interface PendingRepair {
  damaged: DamagedBatch;
  running: boolean;
  attempts: number;
  retryAtMs: number;
}

/** Counters of the scrubber (its metrics). */
export interface ScrubberStats {
  /** Bytes re-read and verified since start. */
  verifiedBytes: number;
  /** Full passes over a log completed (a log's end reached). */
  passes: number;
  /** Damaged batches found. */
  corruptBatches: number;
  /** Damaged batches rewritten from a healthy replica's copy. */
  repairedBatches: number;
  /** Repair attempts that found no healthy copy (each is retried later). */
  failedRepairs: number;
}

/**
 * Background re-verification of what is on disk. Recovery trusts everything before a log's
 * recovery point without reading it, so a byte flipped there later (bit rot, a bad sector, a
 * stray write) would be served as stored. The scrubber walks every open native log, segment by
 * segment, re-checking each batch's framing and CRC32C at a bounded rate (`scrub_rate` bytes per
 * second over all logs, in 100 ms ticks, round robin). A damaged batch is logged with its
 * partition directory, offset, segment and byte position, counted, and the log is marked from
 * that offset on: fetches there fail with CORRUPT_MESSAGE instead of serving bad bytes. A new
 * log's first pass starts right away, so damage that happened while the broker was down is
 * found within one pass after start-up.
 *
 * With `repair` (a replicated partition's log, src/broker/replica-repair.ts), the damaged batch
 * is then rewritten from a peer replica's copy: on success the mark is dropped and the scrub
 * starts again at that batch, so the repaired bytes are verified like any others; without a
 * healthy copy the mark stays and the repair is asked again later (2 s, doubling to a minute).
 */
/** How often `repaired` looks again. */
const REPAIRED_POLL_MS = 50;

export class Scrubber {
  private readonly cursors = new WeakMap<NativeLog, ScrubCursor>();
  private turn = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly counters: ScrubberStats = {
    verifiedBytes: 0,
    passes: 0,
    corruptBatches: 0,
    repairedBatches: 0,
    failedRepairs: 0,
  };
  private readonly warnings: RateLimitedLog;
  private readonly repairs = new Map<NativeLog, PendingRepair>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly logger: Logger,
    private readonly logs: () => readonly NativeLog[] = NativeLog.openLogs,
    private readonly repairer: BatchRepairer | null = null,
  ) {
    this.warnings = new RateLimitedLog(logger);
  }

  start(): void {
    if (this.timer !== null || (this.bytesPerSecond <= 0 && this.repairer === null)) return;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    // A Raft read (a leader sending entries, a replica applying them) that finds a damaged
    // batch has it repaired at once, whether or not the scrub got there.
    if (this.repairer !== null)
      this.unsubscribe = NativeLog.onDamage((log, damaged) => this.damageFound(log, damaged));
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.warnings.flush();
  }

  stats(): ScrubberStats {
    return { ...this.counters };
  }

  /**
   * Resolves true once `log` has no damaged batch waiting for a repair (repaired, or none was
   * found), false after `timeoutMs`. A Raft group refused at open over a damaged entry waits
   * here with its log still open, since a repair of a closed log is dropped.
   */
  async repaired(log: NativeLog, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (!this.repairs.has(log) && log.corruptOffset === null) return true;
      if (performance.now() >= deadline || this.timer === null) return false;
      await new Promise((resolve) => setTimeout(resolve, REPAIRED_POLL_MS));
    }
  }

  /** Verifies about one tick's worth of bytes, moving from log to log. */
  tick(): void {
    this.retryRepairs();
    if (this.bytesPerSecond <= 0) return;
    let budget = Math.max(1, Math.floor((this.bytesPerSecond * TICK_MS) / 1000));
    const logs = this.logs().filter((log) => log.corruptOffset === null);
    for (let visited = 0; visited < logs.length && budget > 0; visited++) {
      const log = logs[this.turn++ % logs.length]!;
      budget -= this.step(log, budget);
    }
  }

  /** One step on `log`; returns the bytes it read (at least 1 so a tick always ends). */
  private step(log: NativeLog, maxBytes: number): number {
    const cursor = this.cursors.get(log) ?? { segmentBaseOffset: 0, position: 0, nextOffset: 0 };
    let step: ReturnType<NativeLog['scrub']>;
    try {
      step = log.scrub(cursor, maxBytes);
    } catch (error) {
      // Closed meanwhile, or an I/O error: try this log again on a later pass.
      this.warnings.warn({ err: error, directory: log.directory }, 'scrubber could not read a log');
      return maxBytes;
    }
    this.counters.verifiedBytes += step.bytes;
    if (step.wrapped) this.counters.passes++;
    this.cursors.set(log, step.cursor);
    const corrupt = step.corrupt;
    if (corrupt !== undefined && corrupt !== null) {
      this.counters.corruptBatches++;
      log.markCorrupt(corrupt.offset);
      this.logger.error(
        {
          directory: log.directory,
          offset: corrupt.offset,
          segment: corrupt.segmentBaseOffset,
          position: corrupt.position,
          reason: corrupt.reason,
        },
        'scrubber found a corrupt batch; reads from its offset fail with CORRUPT_MESSAGE',
      );
      if (this.repairer?.repairable(log) === true) {
        const damaged = {
          offset: corrupt.offset,
          segmentBaseOffset: corrupt.segmentBaseOffset,
          position: corrupt.position,
        };
        this.repairs.set(log, { damaged, running: false, attempts: 0, retryAtMs: 0 });
        this.retryRepairs();
      }
    }
    return Math.max(1, step.bytes);
  }

  /** A damaged batch a read of `log` found (NativeLog.readEntries marked it already). */
  private damageFound(log: NativeLog, damaged: DamagedBatch): void {
    const repairer = this.repairer;
    if (repairer === null || !repairer.owns(log) || this.repairs.has(log)) return;
    this.counters.corruptBatches++;
    this.logger.error(
      { directory: log.directory, offset: damaged.offset, index: damaged.index },
      'a read found a corrupt batch; reads from its offset fail with CORRUPT_MESSAGE',
    );
    if (!repairer.repairable(log)) return;
    this.repairs.set(log, { damaged, running: false, attempts: 0, retryAtMs: 0 });
    this.retryRepairs();
  }

  /**
   * Starts the repairs that are due; forgets those of logs closed meanwhile and those whose mark
   * is gone (a truncation or retention removed the batch).
   */
  private retryRepairs(): void {
    if (this.repairs.size === 0) return;
    const open = new Set(this.logs());
    const nowMs = Date.now();
    for (const [log, pending] of this.repairs) {
      if (!open.has(log) || (!pending.running && log.corruptOffset === null)) this.repairs.delete(log);
      else if (!pending.running && pending.retryAtMs <= nowMs) this.startRepair(log, pending);
    }
  }

  private startRepair(log: NativeLog, pending: PendingRepair): void {
    const repairer = this.repairer;
    if (repairer === null) return;
    pending.running = true;
    pending.attempts++;
    const { damaged } = pending;
    repairer
      .repair(log, damaged)
      .catch((error: unknown) => {
        this.logger.warn({ err: error, directory: log.directory, offset: damaged.offset }, 'repair failed');
        return undefined;
      })
      .then((peer) => {
        pending.running = false;
        if (peer === undefined) {
          this.counters.failedRepairs++;
          pending.retryAtMs =
            Date.now() + Math.min(REPAIR_RETRY_MAX_MS, REPAIR_RETRY_MS * 2 ** (pending.attempts - 1));
          return;
        }
        this.repairs.delete(log);
        this.counters.repairedBatches++;
        // The storage core read the written copy back; the scrub goes on from that batch, so a
        // later damaged batch of the same log is found (and marked) next.
        if (damaged.segmentBaseOffset !== undefined && damaged.position !== undefined)
          this.cursors.set(log, {
            segmentBaseOffset: damaged.segmentBaseOffset,
            position: damaged.position,
            nextOffset: damaged.offset,
          });
        log.clearCorrupt();
        this.logger.warn(
          {
            directory: log.directory,
            offset: damaged.offset,
            segment: damaged.segmentBaseOffset,
            position: damaged.position,
            peer,
            attempts: pending.attempts,
          },
          'repaired a corrupt batch with the copy of another replica; reads from its offset are served again',
        );
      });
  }
}
