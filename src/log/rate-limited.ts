import type { Logger } from 'pino';

/** Default window of a RateLimitedLog: one line per kind of warning per 10 s. */
export const DEFAULT_WARNING_INTERVAL_MS = 10_000;

interface Window {
  startedMs: number;
  suppressed: number;
  lastFields: Record<string, unknown>;
}

/**
 * Warnings that a hostile or broken peer can trigger at will (bad frames, refused connections,
 * slow clients) are logged at most once per `intervalMs` per message: the first one of a window
 * is written as is, the others are only counted, and the next line of that message (or
 * `flush`) says how many were left out (`suppressed`) with the fields of the last one. A garbage
 * stream then costs a few lines per minute instead of thousands per second.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();
  /** Every warning passed in, written or not, by message: what a metric would count. */
  readonly counts = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = DEFAULT_WARNING_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  warn(fields: Record<string, unknown>, message: string): void {
    this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
    const nowMs = this.now();
    const window = this.windows.get(message);
    if (window !== undefined && nowMs - window.startedMs < this.intervalMs) {
      window.suppressed++;
      window.lastFields = fields;
      return;
    }
    const suppressed = window?.suppressed ?? 0;
    this.windows.set(message, { startedMs: nowMs, suppressed: 0, lastFields: fields });
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }

  /** Writes the summary of every window that left warnings out (on stop, or from a timer). */
  flush(): void {
    for (const [message, window] of this.windows) {
      if (window.suppressed > 0) {
        this.logger.warn({ ...window.lastFields, suppressed: window.suppressed }, `${message} (summary)`);
        window.suppressed = 0;
      }
    }
    this.windows.clear();
  }

  /** How many warnings of `message` were passed in so far. */
  count(message: string): number {
    return this.counts.get(message) ?? 0;
  }
}
