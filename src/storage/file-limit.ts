import type { Logger } from 'pino';
import { nativeBinding } from './native-binding.js';

/**
 * Descriptors kept out of the segment-file cache at least: sockets of clients and Raft peers,
 * the controller's files, raft-state replacements in flight, the lock, Node's own (epoll, pipes,
 * stdio). A quarter of the limit when that is more, so a large limit leaves room for many
 * connections.
 */
export const RESERVED_FILES_MIN = 256;
/** Segment files kept open at most, whatever the limit (a broker rarely touches more at once). */
export const SEGMENT_FILES_MAX = 1 << 20;
/** Segment files kept open at least, even under a tiny limit (each operation needs one). */
export const SEGMENT_FILES_MIN = 16;

/** How the open-file limit is shared out: segment files get what the other files leave. */
export interface FileBudget {
  /** The soft RLIMIT_NOFILE in force (Infinity when unlimited). */
  limit: number;
  /** Descriptors left for everything but segment files. */
  reserved: number;
  /** Segment files (.log, .index, .timeindex of every partition) open at most. */
  segmentFiles: number;
}

/** The budget for a soft limit of `limit` descriptors. */
export function fileBudget(limit: number): FileBudget {
  if (!Number.isFinite(limit) || limit <= 0) {
    return { limit, reserved: RESERVED_FILES_MIN, segmentFiles: SEGMENT_FILES_MAX };
  }
  const reserved = Math.max(RESERVED_FILES_MIN, Math.floor(limit / 4));
  const segmentFiles = Math.min(SEGMENT_FILES_MAX, Math.max(SEGMENT_FILES_MIN, limit - reserved));
  return { limit, reserved, segmentFiles };
}

/**
 * Raises the soft open-file limit (RLIMIT_NOFILE) to the hard limit, as Kafka's and Redpanda's
 * service files do, sizes the process's cache of open segment files from it (fileBudget: the
 * least recently used files close first, so the number of partitions is not bounded by the
 * limit; docs/operations.md, *Open files*) and logs the budget. Returns the limit now in force
 * (0 where unknown).
 */
export function raiseOpenFileLimit(logger: Logger): number {
  let limit: { soft: number; hard: number; before: number };
  const binding = nativeBinding();
  try {
    limit = binding.raiseOpenFileLimit();
  } catch (error) {
    logger.warn({ err: error }, 'could not read or raise the open file limit');
    return 0;
  }
  const budget = fileBudget(limit.soft);
  binding.setSegmentFileCapacity(budget.segmentFiles);
  logger.info(
    {
      before: limit.before,
      soft: limit.soft,
      hard: limit.hard,
      segmentFiles: budget.segmentFiles,
      reservedFiles: budget.reserved,
    },
    limit.soft > limit.before ? 'raised the open file limit to the hard limit' : 'open file limit',
  );
  return limit.soft;
}

/**
 * Files opened for a moment (a raft-state replacement: its temporary file, then the directory
 * for the fsync) at most at once, over the process. A group-commit round of thousands of Raft
 * groups would otherwise open one per group together and exhaust the reserved descriptors
 * (EMFILE at 500 groups under `ulimit -n 512`); 32 keeps the libuv pool (4 threads) busy.
 */
export const TRANSIENT_FILES_MAX = 32;

/** A counting semaphore over file descriptors opened briefly. */
export class FileSlots {
  private inUse = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly slots: number) {}

  /** Runs `work` once a slot is free; the slot is held until its promise settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.inUse >= this.slots) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.inUse++;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, or is given back.
      const next = this.waiting.shift();
      if (next === undefined) this.inUse--;
      else next();
    }
  }
}

/** The process's slots for transient files (raft-state replacements). */
export const transientFiles = new FileSlots(TRANSIENT_FILES_MAX);
