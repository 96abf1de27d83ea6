import { errorInfo } from '../protocol/index.js';

/**
 * Every error the SDK throws is a `GoqueueError`. `retriable` says whether the same call may
 * succeed if tried again (the SDK already retried it `retry.retries` times when it says so).
 */
export class GoqueueError extends Error {
  override name = 'GoqueueError';
  readonly retriable: boolean;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retriable = options.retriable ?? false;
  }
}

/** Hints appended to the broker's error so the user knows what to do next. */
const hints: Record<number, string> = {
  1: 'the offset is outside the partition; start from "earliest" or "latest"',
  3: 'create the topic first (admin.createTopic or `goqueue topic create`) or check its name',
  5: 'the partition is electing a leader; retry shortly',
  6: 'the client will refresh metadata and retry on the new leader',
  7: 'raise timeoutMs or check that the brokers are healthy',
  10: "raise the broker's max_message_size or send smaller batches",
  17: 'topic names use only letters, digits, ".", "_" and "-" and are at most 249 characters',
  35: 'upgrade the broker or the client: they share no version of this request',
  36: 'the topic already exists; describe it instead of creating it',
  37: 'ask for at least one partition',
  38: 'ask for a replication factor no larger than the number of brokers',
  41: 'the client will rediscover the controller and retry',
};

/** An error code returned by the broker in a response. */
export class KafkaProtocolError extends GoqueueError {
  override name = 'KafkaProtocolError';
  /** Kafka's numeric error code (e.g. 3). */
  readonly code: number;
  /** Kafka's error name (e.g. `UNKNOWN_TOPIC_OR_PARTITION`). */
  readonly errorName: string;
  readonly topic: string | undefined;
  readonly partition: number | undefined;

  constructor(
    code: number,
    context: {
      topic?: string;
      partition?: number;
      detail?: string | null;
      /** Overrides Kafka's flag, e.g. an unknown topic that fresh metadata confirms is absent. */
      retriable?: boolean;
    } = {},
  ) {
    const info = errorInfo(code);
    const where =
      context.topic === undefined
        ? ''
        : context.partition === undefined
          ? ` (topic "${context.topic}")`
          : ` (topic "${context.topic}" partition ${context.partition})`;
    const detail = context.detail ? ` (${context.detail})` : '';
    const hint = hints[code] ? `; ${hints[code]}` : '';
    super(`${info.name} [${code}]${where}: ${info.message}${detail}${hint}`, {
      retriable: context.retriable ?? info.retriable,
    });
    this.code = code;
    this.errorName = info.name;
    this.topic = context.topic;
    this.partition = context.partition;
  }
}

/** A request got no answer within its time limit. */
export class TimeoutError extends GoqueueError {
  override name = 'TimeoutError';
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number) {
    super(`${what} got no answer within ${timeoutMs} ms; raise timeoutMs or check the broker is up`, {
      retriable: true,
    });
    this.timeoutMs = timeoutMs;
  }
}

/** The TCP connection to a broker could not be opened or broke. */
export class ConnectionError extends GoqueueError {
  override name = 'ConnectionError';
  readonly broker: string;

  constructor(broker: string, reason: string, cause?: unknown) {
    super(`connection to broker ${broker} failed: ${reason}; check the address and that the broker runs`, {
      retriable: true,
      cause,
    });
    this.broker = broker;
  }
}

/** The caller's AbortSignal fired. Never retried. */
export class AbortError extends GoqueueError {
  override name = 'AbortError';

  constructor(what = 'the operation', reason?: unknown) {
    super(`${what} was aborted`, { retriable: false, cause: reason });
  }
}

/** Error codes after which the metadata cache is stale and must be refreshed before a retry. */
export const METADATA_STALE_CODES: ReadonlySet<number> = new Set([
  3, // UNKNOWN_TOPIC_OR_PARTITION
  5, // LEADER_NOT_AVAILABLE
  6, // NOT_LEADER_OR_FOLLOWER
  41, // NOT_CONTROLLER
  74, // FENCED_LEADER_EPOCH
  76, // UNKNOWN_LEADER_EPOCH
]);

/** True when `error` should be retried (after refreshing metadata when it says so). */
export function isRetriable(error: unknown): boolean {
  return error instanceof GoqueueError && error.retriable;
}

/** True when a retry needs fresh metadata first. */
export function needsMetadataRefresh(error: unknown): boolean {
  if (error instanceof KafkaProtocolError) return METADATA_STALE_CODES.has(error.code);
  return error instanceof ConnectionError || error instanceof TimeoutError;
}
