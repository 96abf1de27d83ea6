/**
 * The history of a torture run, in Jepsen's vocabulary: every client operation is recorded when
 * it is invoked and again when it completes, as `ok` (it happened), `fail` (it certainly did not)
 * or `info` (unknown: a timeout or a connection lost mid-request; it may or may not have
 * happened). The checker reads only this history and the final reads.
 */

export type OperationType = 'invoke' | 'ok' | 'fail' | 'info';

/** What an operation did. */
export type OperationKind =
  /** A producer sent one unique value to one partition; ok carries the offset the broker gave. */
  | 'send'
  /** A consumer read records (offset, value) of one partition, in the order it got them. */
  | 'poll'
  /** A group's committed offset of one partition, as the coordinator reported it. */
  | 'committed-offset';

export interface Operation {
  /** The actor: `sdk-0`, `kafkajs-idempotent-0`, `assign-2`, `group-1`, `drain`, ... */
  process: string;
  type: OperationType;
  kind: OperationKind;
  /** Milliseconds since the run started. */
  timeMs: number;
  partition: number;
  /** send: the value. */
  value?: string;
  /** send ok: the offset the broker answered (-1 when it gave none). committed-offset: the offset. */
  offset?: number;
  /** poll: [offset, value] pairs. */
  records?: Array<[number, string]>;
  /** fail/info: why. */
  error?: string;
}

/** Which producers are idempotent: their values start with this prefix. */
export const IDEMPOTENT_PREFIX = 'kafkajs-idempotent';

export class History {
  readonly operations: Operation[] = [];
  private readonly startedMs: number;

  constructor(startedMs: number = Date.now()) {
    this.startedMs = startedMs;
  }

  nowMs(): number {
    return Date.now() - this.startedMs;
  }

  record(operation: Omit<Operation, 'timeMs'>): Operation {
    const recorded: Operation = { ...operation, timeMs: this.nowMs() };
    this.operations.push(recorded);
    return recorded;
  }
}
