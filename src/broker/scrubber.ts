import type { Logger } from 'pino';
import { RateLimitedLog } from '../log/rate-limited.js';
import { NativeLog, type ScrubCursor } from '../storage/native-log.js';

/** The scrubber works in ticks this long: each reads about `bytesPerSecond * TICK_MS / 1000`. */
const TICK_MS = 100;

/** Counters of the scrubber (its metrics). */
export interface ScrubberStats {
  /** Bytes re-read and verified since start. */
  verifiedBytes: number;
  /** Full passes over a log completed (a log's end reached). */
  passes: number;
  /** Damaged batches found. */
  corruptBatches: number;
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
 */
export class Scrubber {
  private readonly cursors = new WeakMap<NativeLog, ScrubCursor>();
  private turn = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly counters: ScrubberStats = { verifiedBytes: 0, passes: 0, corruptBatches: 0 };
  private readonly warnings: RateLimitedLog;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly logger: Logger,
    private readonly logs: () => readonly NativeLog[] = NativeLog.openLogs,
  ) {
    this.warnings = new RateLimitedLog(logger);
  }

  start(): void {
    if (this.bytesPerSecond <= 0 || this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.warnings.flush();
  }

  stats(): ScrubberStats {
    return { ...this.counters };
  }

  /** Verifies about one tick's worth of bytes, moving from log to log. */
  tick(): void {
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
    }
    return Math.max(1, step.bytes);
  }
}
