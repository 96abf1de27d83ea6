/**
 * Errors of the storage layer. The native core and MemoryLog throw the same codes, so callers
 * branch on `code` and never on the message.
 */
export type StorageErrorCode =
  /** Bytes that are not a well-formed RecordBatch v2: CRC, magic, lengths, truncation. */
  | 'CORRUPT_MESSAGE'
  /** A well-formed batch breaking a rule: record count, records section, term going back. */
  | 'INVALID_RECORD'
  /** A batch above `maxBatchBytes`. */
  | 'MESSAGE_TOO_LARGE'
  /** A batch whose baseOffset is not the log's next offset. */
  | 'INVALID_OFFSET'
  /** A LogIndex or KafkaOffset outside the stored range. */
  | 'OFFSET_OUT_OF_RANGE'
  /** A codec id other than 0..4. */
  | 'UNSUPPORTED_COMPRESSION_TYPE'
  /** A bad option or argument. */
  | 'INVALID_ARGUMENT'
  /** The log was closed. */
  | 'LOG_CLOSED'
  /** The operating system failed a file operation. */
  | 'IO_ERROR';

const CODES: ReadonlySet<string> = new Set<StorageErrorCode>([
  'CORRUPT_MESSAGE',
  'INVALID_RECORD',
  'MESSAGE_TOO_LARGE',
  'INVALID_OFFSET',
  'OFFSET_OUT_OF_RANGE',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'INVALID_ARGUMENT',
  'LOG_CLOSED',
  'IO_ERROR',
]);

/** The Kafka protocol error code a broker answers with for each storage error. */
export const KAFKA_ERROR_CODE: Readonly<Record<StorageErrorCode, number>> = {
  CORRUPT_MESSAGE: 2,
  INVALID_RECORD: 87,
  MESSAGE_TOO_LARGE: 10,
  INVALID_OFFSET: 87,
  OFFSET_OUT_OF_RANGE: 1,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  INVALID_ARGUMENT: 42,
  LOG_CLOSED: 56,
  IO_ERROR: 56,
};

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** Kafka error code for this error (e.g. 2 CORRUPT_MESSAGE, 56 KAFKA_STORAGE_ERROR). */
  get kafkaErrorCode(): number {
    return KAFKA_ERROR_CODE[this.code];
  }
}

export function isStorageErrorCode(code: unknown): code is StorageErrorCode {
  return typeof code === 'string' && CODES.has(code);
}

/**
 * Turns what the native binding threw into a StorageError. Synchronous calls set `code`;
 * the off-thread `sync` cannot, so its message starts with `"<CODE>: "`. Argument conversion
 * failures inside napi (a string where a number belongs) become INVALID_ARGUMENT.
 */
export function fromNative(error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  if (!(error instanceof Error)) return new StorageError('IO_ERROR', String(error));
  const code = (error as { code?: unknown }).code;
  if (isStorageErrorCode(code)) return new StorageError(code, error.message);
  const prefixed = /^([A-Z_]+): (.*)$/s.exec(error.message);
  if (prefixed && isStorageErrorCode(prefixed[1])) return new StorageError(prefixed[1], prefixed[2] ?? '');
  return new StorageError('INVALID_ARGUMENT', error.message);
}

/** Runs `call`, rethrowing native errors as StorageError. */
export function native<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw fromNative(error);
  }
}

/** What the OS says when a file system (or a quota) is full: ENOSPC, EDQUOT. */
const NO_SPACE =
  /\bENOSPC\b|\bEDQUOT\b|No space left on device|Disk quota exceeded|os error 28\b|os error 122\b/;

/**
 * Whether `error` is a write that failed because the disk is full: the storage core and Node's
 * fs both name it. Such a write can succeed once space is freed, so callers wait and retry
 * instead of treating the disk as broken.
 */
export function isNoSpaceError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === 'ENOSPC' || code === 'EDQUOT' || (typeof message === 'string' && NO_SPACE.test(message));
}
