/**
 * Repair of a damaged batch from a healthy replica of the same partition.
 *
 * Why a copy from another replica is the right bytes: in a partition group one Raft entry is one
 * RecordBatch, and the leader writes `baseOffset` and `partitionLeaderEpoch` into it before it
 * replicates it (a follower stamps the same offset, since offsets follow the log prefix). Raft's
 * Log Matching property says two logs holding an entry of the same LogIndex and term hold the
 * same entry, so a peer's copy of (index, term) is byte for byte what this replica stored, whether
 * or not the entry is committed yet. The repair therefore never drops or reorders anything: it
 * writes the peer's bytes over the damaged ones in place, after the storage core checked that the
 * copy is a valid batch (CRC32C), begins at the offset the previous batch ends at, carries the
 * term this replica's term map holds for the index, and ends exactly where the next stored batch
 * begins (`Log.repairBatch`). A voter that cut the entry instead would give up an acknowledged
 * entry, which Raft counts on being durable.
 *
 * The peer serves the entry only after checking its own copy the same way (CRC, offset, term),
 * so a replica never passes on damage it holds. When no peer has a healthy copy (all copies
 * damaged, peers down, or the entry gone from theirs by retention) the batch stays marked and
 * reads from it keep failing with CORRUPT_MESSAGE; the scrubber asks again later.
 *
 * The controller's own log is repaired the same way, from any other broker (every broker holds it,
 * as a voter or a learner of the controller group), under the key CONTROLLER_LOG_KEY. Raft's own
 * control entries (a leader's no-op, a membership change) are stored without a timestamp in both
 * kinds of log, so they too are the same bytes on every replica. (Controller logs written before
 * that carry each replica's wall clock there: a peer's copy then differs in its timestamps only,
 * the same entry, offset, term and length, which is what the storage core checks.)
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import type { Logger } from 'pino';
import { decodeRaftState, RAFT_STATE_FILE } from '../cluster/durable-raft-storage.js';
import { kafkaOffset, type LogIndex, logIndex, type NodeId, nodeId } from '../lib/ids.js';
import { BatchField } from '../lib/record-batch-header.js';
import { NativeLog, verifyStoredBatch } from '../storage/native-log.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { RpcError } from './controller-rpc.js';

/** The broker-to-broker method a replica asks its peers for one entry with. */
export const READ_ENTRY_METHOD = 'replica-read-entry';
/** The method a replica asks a peer for committed entries it lost with. */
export const READ_COMMITTED_METHOD = 'replica-read-committed';
/** How long one peer may take to answer. */
const READ_ENTRY_TIMEOUT_MS = 10_000;
/**
 * Largest batch a peer sends back: the RPC frame carries it in base64 (4/3 of its size) as JSON
 * within 4 MiB. A larger batch (max_message_size above it) is refused with MESSAGE_TOO_LARGE and
 * stays marked.
 */
const MAX_REPAIR_BATCH_BYTES = 3_000_000;

/**
 * A damaged batch: its first offset, and where it lies when the scrubber found it (a Raft read
 * that found it knows its LogIndex instead).
 */
export interface DamagedBatch {
  offset: number;
  index?: number;
  segmentBaseOffset?: number;
  position?: number;
}

/** A request for entry `index` (offset `offset`, term `term`) of a partition. */
interface ReadEntryRequest {
  topicId: string;
  partition: number;
  index: number;
  offset: number;
  term: number;
}

/** A request for the committed entries `[from, to]` of a partition. */
interface ReadCommittedRequest {
  topicId: string;
  partition: number;
  from: number;
  to: number;
}

/** The two RPC methods this needs (ControllerRpc implements them). */
export interface RepairRpc {
  call<T>(to: NodeId, method: string, body: unknown, timeoutMs: number): Promise<T>;
  handle(method: string, handler: (from: NodeId, body: unknown) => Promise<unknown>): void;
}

export interface ReplicaRepairOptions {
  rpc: RepairRpc;
  brokerId: number;
  /** The broker's data directory: partition logs live in `<dataDir>/partitions/<topicId>-<p>`. */
  dataDir: string;
  /** Brokers (this one included or not) that host a replica of the partition, or undefined. */
  replicasOf: (topicId: string, partition: number) => readonly number[] | undefined;
  /** The open native logs of this process (default NativeLog.openLogs). */
  logs?: () => readonly NativeLog[];
  /**
   * The last entry of the partition's group this broker serves as committed, when it runs here
   * (`servableCommitIndex` of its Raft status).
   */
  committedIndexOf?: (topicId: string, partition: number) => number | undefined;
  logger: Logger;
}

/**
 * The `topicId` repair requests name the controller's own log by (`<dataDir>/controller`,
 * partition 0); topic ids are UUIDs, so it names no topic.
 */
export const CONTROLLER_LOG_KEY = 'controller';

/** The directory of the log a repair request names (a partition replica's, or the controller's). */
function directoryOfLog(dataDir: string, key: { topicId: string; partition: number }): string {
  return key.topicId === CONTROLLER_LOG_KEY
    ? join(dataDir, CONTROLLER_LOG_KEY)
    : join(dataDir, 'partitions', `${key.topicId}-${key.partition}`);
}

/**
 * The log a directory holds, as repair requests name it: a partition replica's (topic id and
 * partition), or the controller's (CONTROLLER_LOG_KEY, partition 0); undefined for any other.
 */
export function partitionOfDirectory(
  dataDir: string,
  directory: string,
): { topicId: string; partition: number } | undefined {
  if (directory === join(dataDir, CONTROLLER_LOG_KEY)) return { topicId: CONTROLLER_LOG_KEY, partition: 0 };
  if (dirname(directory) !== join(dataDir, 'partitions')) return undefined;
  const match = /^(.+)-(\d{1,9})$/.exec(basename(directory));
  if (match === null) return undefined;
  return { topicId: match[1]!, partition: Number(match[2]) };
}

/** Why a stored entry cannot be handed to a peer or taken from one; undefined when it can. */
function copyProblem(batch: Buffer | undefined, request: ReadEntryRequest): string | undefined {
  if (batch === undefined) return 'not stored';
  try {
    verifyStoredBatch(batch);
  } catch (error) {
    return `damaged: ${(error as Error).message}`;
  }
  const baseOffset = Number(batch.readBigInt64BE(0));
  const term = batch.readInt32BE(12);
  if (baseOffset !== request.offset) return `baseOffset ${baseOffset}, not ${request.offset}`;
  if (term !== request.term) return `term ${term}, not ${request.term}`;
  return undefined;
}

export class ReplicaRepair {
  private readonly logs: () => readonly NativeLog[];

  constructor(private readonly options: ReplicaRepairOptions) {
    this.logs = options.logs ?? NativeLog.openLogs;
    options.rpc.handle(READ_ENTRY_METHOD, async (_from, body) => this.serve(body as ReadEntryRequest));
    options.rpc.handle(READ_COMMITTED_METHOD, async (_from, body) =>
      this.serveCommitted(body as ReadCommittedRequest),
    );
  }

  /**
   * Before a partition replica opens: when its stored commit lies beyond its log (recovery cut
   * committed entries that rotted on disk, which this replica had acknowledged), fetches the
   * missing committed entries from a peer whose own commit covers them and appends them, so the
   * replica holds what it acknowledged again. Committed entries are the same bytes on every
   * replica (State Machine Safety), and the storage core checks each (CRC32C, offsets following
   * the log, terms not going back). Resolves to the entries restored; without a peer that can
   * give them, the replica stays as it is (it then refuses to open, docs/reliability.md defect 1).
   */
  async restoreCommitted(directory: string, log: PartitionLog, commit: number): Promise<number> {
    const partition = partitionOfDirectory(this.options.dataDir, directory);
    if (partition === undefined || commit <= log.lastIndex) return 0;
    const peers = (this.options.replicasOf(partition.topicId, partition.partition) ?? []).filter(
      (id) => id !== this.options.brokerId,
    );
    const before = log.lastIndex as number;
    const refusals: string[] = [];
    for (const peer of peers) {
      while (log.lastIndex < commit) {
        let batches: Buffer[];
        try {
          const answer = await this.options.rpc.call<{ batches: string[] }>(
            nodeId(peer),
            READ_COMMITTED_METHOD,
            { ...partition, from: log.lastIndex + 1, to: commit },
            READ_ENTRY_TIMEOUT_MS,
          );
          batches = answer.batches.map((batch) => Buffer.from(batch, 'base64'));
          if (batches.length === 0) throw new Error('no entries');
          for (const batch of batches) verifyStoredBatch(batch);
          log.append(batches);
        } catch (error) {
          refusals.push(`broker ${peer}: ${(error as Error).message}`);
          break;
        }
      }
    }
    const restored = log.lastIndex - before;
    if (restored > 0) await log.sync();
    if (log.lastIndex < commit)
      this.options.logger.warn(
        { directory, commit, lastIndex: log.lastIndex, refusals },
        'could not restore the committed entries recovery cut from a peer',
      );
    else
      this.options.logger.warn(
        { directory, restored, from: before + 1, to: log.lastIndex },
        'restored committed entries recovery had cut, from a peer replica',
      );
    return restored;
  }

  /** A log of this broker: under its data directory. */
  owns(log: NativeLog): boolean {
    return log.directory.startsWith(join(this.options.dataDir, sep));
  }

  /** A partition replica's log, or the controller's. */
  repairable(log: NativeLog): boolean {
    return partitionOfDirectory(this.options.dataDir, log.directory) !== undefined;
  }

  /**
   * Repairs the damaged batch `damaged` of `log` from the first peer replica holding a healthy
   * copy; resolves to the peer that gave it, or undefined when the log is not a replicated
   * partition's or no peer could (the reasons are logged).
   */
  async repair(log: NativeLog, damaged: DamagedBatch): Promise<number | undefined> {
    const { brokerId, dataDir, logger } = this.options;
    const partition = partitionOfDirectory(dataDir, log.directory);
    if (partition === undefined) return undefined;
    const peers = (this.options.replicasOf(partition.topicId, partition.partition) ?? []).filter(
      (id) => id !== brokerId,
    );
    if (peers.length === 0) {
      logger.warn(
        { directory: log.directory, offset: damaged.offset },
        'no other replica of the partition holds a copy of the corrupt batch; it stays unreadable',
      );
      return undefined;
    }
    const index =
      damaged.index === undefined ? this.indexOfDamaged(log, damaged.offset) : logIndex(damaged.index);
    const term = log.termAt(index);
    if (term === undefined) return undefined;
    const request: ReadEntryRequest = { ...partition, index, offset: damaged.offset, term };
    const refusals: string[] = [];
    for (const peer of peers) {
      let batch: Buffer;
      try {
        const answer = await this.options.rpc.call<{ batch: string }>(
          nodeId(peer),
          READ_ENTRY_METHOD,
          request,
          READ_ENTRY_TIMEOUT_MS,
        );
        batch = Buffer.from(answer.batch, 'base64');
      } catch (error) {
        refusals.push(`broker ${peer}: ${(error as Error).message}`);
        continue;
      }
      const problem = copyProblem(batch, request);
      if (problem !== undefined) {
        refusals.push(`broker ${peer}: its copy is ${problem}`);
        continue;
      }
      // Throws when the copy does not fit the stored entry (offset, term, length) or the
      // write fails: then this peer's copy is not used.
      try {
        log.repairBatch(logIndex(index), batch);
      } catch (error) {
        refusals.push(`broker ${peer}: ${(error as Error).message}`);
        continue;
      }
      return peer;
    }
    logger.warn(
      { directory: log.directory, offset: damaged.offset, index, term, refusals },
      'no replica could give a healthy copy of the corrupt batch; reads from it keep failing with CORRUPT_MESSAGE',
    );
    return undefined;
  }

  /**
   * LogIndex of the batch starting at `offset`: one after the entry holding `offset - 1`. The
   * lookup walks only over batches before the damaged one (the scrubber verified them), never
   * over the damaged batch's own header.
   */
  private indexOfDamaged(log: NativeLog, offset: number): LogIndex {
    if (offset <= log.logStartOffset) return log.firstIndex;
    const previous = log.indexOfOffset(kafkaOffset(offset - 1));
    if (previous === undefined) throw new Error(`offset ${offset - 1} is not stored in ${log.directory}`);
    return logIndex(previous + 1);
  }

  /**
   * A peer's request for committed entries `[from, to]`: served only up to this replica's own
   * commit index, each batch checked (CRC32C) before it goes, within the RPC frame's size.
   */
  private async serveCommitted(body: ReadCommittedRequest): Promise<{ batches: string[] }> {
    if (
      typeof body !== 'object' ||
      body === null ||
      typeof body.topicId !== 'string' ||
      ![body.partition, body.from, body.to].every(Number.isSafeInteger)
    )
      throw new RpcError('INVALID_REQUEST', 'a read-committed request names topicId, partition, from, to');
    const directory = directoryOfLog(this.options.dataDir, body);
    const log = this.logs().find((candidate) => candidate.directory === directory);
    const committed = this.options.committedIndexOf?.(body.topicId, body.partition);
    if (log === undefined || committed === undefined)
      throw new RpcError(
        'NOT_LEADER_OR_FOLLOWER',
        `no running replica of ${body.topicId}-${body.partition} here`,
      );
    const upTo = Math.min(body.to, committed, log.lastIndex);
    if (body.from < log.firstIndex || body.from > upTo)
      throw new RpcError(
        'OFFSET_NOT_AVAILABLE',
        `entries from ${body.from} are not committed and stored here`,
      );
    const batches = log.readEntries(logIndex(body.from), logIndex(upTo), MAX_REPAIR_BATCH_BYTES);
    const sent: string[] = [];
    let bytes = 0;
    const corrupt = log.corruptOffset;
    for (const [at, batch] of batches.entries()) {
      const index = logIndex(body.from + at);
      try {
        verifyStoredBatch(batch);
      } catch {
        break;
      }
      // The CRC does not cover partitionLeaderEpoch (nor baseOffset): a batch whose term rotted,
      // or one at or past a damage mark, would be stored by the peer as a committed entry of
      // another term. Raft's read returns a damaged first batch as read, so this is checked here.
      if (batch.readInt32BE(BatchField.partitionLeaderEpoch) !== log.termAt(index)) break;
      if (corrupt !== null && (log.offsetAt(index) ?? corrupt) >= corrupt) break;
      if (bytes + batch.length > MAX_REPAIR_BATCH_BYTES) break;
      bytes += batch.length;
      sent.push(batch.toString('base64'));
    }
    if (sent.length === 0)
      throw new RpcError('CORRUPT_MESSAGE', `entry ${body.from} here cannot be sent (damaged or too large)`);
    return { batches: sent };
  }

  /** A peer's request: this replica's copy of the entry, when it is whole and the same entry. */
  private async serve(body: ReadEntryRequest): Promise<{ batch: string }> {
    if (
      typeof body !== 'object' ||
      body === null ||
      typeof body.topicId !== 'string' ||
      ![body.partition, body.index, body.offset, body.term].every(Number.isSafeInteger)
    )
      throw new RpcError(
        'INVALID_REQUEST',
        'a read-entry request names topicId, partition, index, offset, term',
      );
    const directory = directoryOfLog(this.options.dataDir, body);
    const log = this.logs().find((candidate) => candidate.directory === directory);
    if (log === undefined)
      throw new RpcError('NOT_LEADER_OR_FOLLOWER', `no replica of ${body.topicId}-${body.partition} here`);
    const index = logIndex(body.index);
    if (index < log.firstIndex || index > log.lastIndex || log.termAt(index) !== body.term)
      throw new RpcError(
        'OFFSET_NOT_AVAILABLE',
        `entry ${body.index} of term ${body.term} is not stored here`,
      );
    const batch = log.readEntries(index, index, MAX_REPAIR_BATCH_BYTES)[0];
    if (batch !== undefined && batch.length > MAX_REPAIR_BATCH_BYTES)
      throw new RpcError(
        'MESSAGE_TOO_LARGE',
        `entry ${body.index} is ${batch.length} bytes, above the ${MAX_REPAIR_BATCH_BYTES} a repair carries`,
      );
    const problem = copyProblem(batch, body);
    if (problem !== undefined)
      throw new RpcError('CORRUPT_MESSAGE', `entry ${body.index} here is ${problem}`);
    return { batch: batch!.toString('base64') };
  }
}

/**
 * The last entry a replica may serve to a peer as committed (`committedIndexOf`) from its Raft
 * status: the applied index, not the commit index. A follower that takes an Append commits the
 * new entries in memory before the Ready writes them (the write waits for the event loop, or for
 * a sync in progress), and until then its log still holds, at those indices, the entries they
 * replace: a deposed leader's, never committed. Entries are applied only after they are written.
 */
export function servableCommitIndex(status: { applied: number } | undefined): number | undefined {
  return status?.applied;
}

/**
 * `ReplicaRepair.restoreCommitted` for a partition log about to open, with the stored commit read
 * from its raft-state file (none yet: nothing to restore). Never throws: the open then goes on and
 * refuses the log itself when it is still short.
 */
export async function restoreCommitted(
  repair: ReplicaRepair,
  directory: string,
  log: PartitionLog,
): Promise<void> {
  let commit: number;
  try {
    commit = decodeRaftState(await readFile(join(directory, RAFT_STATE_FILE))).hardState.commit;
  } catch {
    return;
  }
  if (commit <= log.lastIndex) return;
  await repair.restoreCommitted(directory, log, commit).catch(() => 0);
}
