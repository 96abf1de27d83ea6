import { statfsSync } from 'node:fs';
import type { Logger } from 'pino';

/** After a write failed on a full disk, produce resumes once at least this much is free (or
 * `min_free_bytes`, when larger): a few batches of room, so the first accepted produce does not
 * fill it again at once. */
export const NO_SPACE_MARGIN_BYTES = 4 * 2 ** 20;
/** Free space is checked this often (one statfs): bounded work while full, and produce resumes
 * at most this long after space is freed. */
export const DISK_CHECK_INTERVAL_MS = 1000;

const guards = new Set<DiskSpaceGuard>();

/** A write somewhere failed with ENOSPC/EDQUOT: every guard refuses produce until its next
 * check finds room (a guard on another file system clears at that check). */
export function reportNoSpace(): void {
  for (const guard of guards) guard.noteNoSpace();
}

/** Whether a write that failed on a full disk should wait for space and retry: only while a
 * broker's guard is running (it refuses produce meanwhile, and its stop lets a shutdown finish
 * instead of waiting for space forever). */
export function retryingWhileFull(): boolean {
  return guards.size > 0;
}

/** Counters of the disk-space guard (its metrics). */
export interface DiskSpaceStats {
  full: boolean;
  /** Free bytes at the last check (for an unprivileged user: statfs `bavail`). */
  freeBytes: number;
  /** Times the disk turned full (by `min_free_bytes` or by a failed write). */
  fullEvents: number;
  /** Partition produces refused while full. */
  refusedProduces: number;
}

/**
 * Watches the free space of the file system holding a data directory. Produce is refused
 * (KAFKA_STORAGE_ERROR) while free space is below `min_free_bytes`, so the disk does not fill
 * in the first place, and after a write failed for lack of space until enough is free again.
 * The state is checked every `DISK_CHECK_INTERVAL_MS` with one statfs; each change is logged.
 */
export class DiskSpaceGuard {
  private full = false;
  private noSpaceSeen = false;
  private freeBytes = Number.NaN;
  private fullEvents = 0;
  private refusedProduces = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly directory: string,
    private readonly minFreeBytes: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    guards.add(this);
    this.check();
    this.timer = setInterval(() => this.check(), DISK_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    guards.delete(this);
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Why produce must be refused now, or null; counts the refusal. */
  refusal(): string | null {
    if (!this.full) return null;
    this.refusedProduces++;
    return this.noSpaceSeen
      ? 'the data disk is full (a write failed: no space left on device); retry once space is freed'
      : `the data disk has ${this.freeBytes} bytes free, below min_free_bytes (${this.minFreeBytes})`;
  }

  noteNoSpace(): void {
    this.noSpaceSeen = true;
    if (!this.full)
      this.turnFull('data disk is full (a write failed: no space left on device): produce refused');
  }

  stats(): DiskSpaceStats {
    return {
      full: this.full,
      freeBytes: this.freeBytes,
      fullEvents: this.fullEvents,
      refusedProduces: this.refusedProduces,
    };
  }

  check(): void {
    try {
      const { bavail, bsize } = statfsSync(this.directory);
      this.freeBytes = bavail * bsize;
    } catch (error) {
      this.logger.warn(
        { err: error, directory: this.directory },
        'cannot read the free space of the data disk',
      );
      return;
    }
    const needed = Math.max(this.minFreeBytes, this.noSpaceSeen ? NO_SPACE_MARGIN_BYTES : 0);
    const fullNow = this.freeBytes < needed;
    if (fullNow && !this.full) {
      this.turnFull('data disk is full (free space below min_free_bytes): produce refused');
    } else if (!fullNow && this.full) {
      this.full = false;
      this.noSpaceSeen = false;
      this.logger.info(
        { freeBytes: this.freeBytes, minFreeBytes: this.minFreeBytes, refusedProduces: this.refusedProduces },
        'data disk has space again: produce accepted',
      );
    }
  }

  private turnFull(message: string): void {
    this.full = true;
    this.fullEvents++;
    this.logger.warn(
      { directory: this.directory, freeBytes: this.freeBytes, minFreeBytes: this.minFreeBytes },
      message,
    );
  }
}
