import { ErrorCode } from '../../protocol/index.js';

/** FindCoordinator's key type of a transactional id (0 is a consumer group). */
export const KEY_TYPE_TRANSACTION = 1;

/**
 * Transactions are not served, and a transactional producer must learn so at once. It first asks
 * FindCoordinator for its transactional id's coordinator. COORDINATOR_NOT_AVAILABLE is retriable:
 * the Java client then waits max.block.ms and franz-go retries without end. Of the non-retriable
 * codes, librdkafka stops only on CLUSTER_AUTHORIZATION_FAILED and
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED (it retries every other one until its timeout); of those
 * two, the Java client shows the broker's error message only with CLUSTER_AUTHORIZATION_FAILED
 * (it answers the other with a fixed "Transactional Id authorization failed."). franz-go and
 * sarama show the code's own text. Measured with each client by `npm run interop`; the table is
 * in docs/protocol.md, "Transactions".
 */
export const TRANSACTIONS_UNSUPPORTED_ERROR = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;

export const TRANSACTIONS_UNSUPPORTED_MESSAGE =
  'goqueue does not support transactions: remove transactional.id (idempotent producers are supported)';
