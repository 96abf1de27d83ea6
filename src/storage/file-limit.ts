import type { Logger } from 'pino';
import { nativeBinding } from './native-binding.js';

/** Open files a broker needs besides its partitions: sockets of clients and peers, the
 * controller's log, raft-state files, the lock, logs. Used for the budget line only. */
const OTHER_FILES_ESTIMATE = 256;

/**
 * Raises the soft open-file limit (RLIMIT_NOFILE) to the hard limit, as Kafka's and Redpanda's
 * service files do, and logs the budget: every partition keeps its active segment's three files
 * open (docs/operations.md, Limits). Returns the limit now in force (0 where unknown).
 */
export function raiseOpenFileLimit(logger: Logger): number {
  let limit: { soft: number; hard: number; before: number };
  try {
    limit = nativeBinding().raiseOpenFileLimit();
  } catch (error) {
    logger.warn({ err: error }, 'could not read or raise the open file limit');
    return 0;
  }
  const partitions = Number.isFinite(limit.soft)
    ? Math.max(0, Math.floor((limit.soft - OTHER_FILES_ESTIMATE) / 3))
    : null;
  logger.info(
    { before: limit.before, soft: limit.soft, hard: limit.hard, partitionsAtThreeFiles: partitions },
    limit.soft > limit.before ? 'raised the open file limit to the hard limit' : 'open file limit',
  );
  return limit.soft;
}
