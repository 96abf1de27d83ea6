import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DurableRaftStorage } from '../cluster/durable-raft-storage.js';
import type { GroupOptions, MultiRaftNode } from '../cluster/multi-raft-node.js';
import type { BrokerConfig } from '../config/types.js';
import type { ControllerState, PartitionInfo, TopicInfo } from '../controller/index.js';
import { logIndex, nodeId } from '../lib/ids.js';
import { ErrorCode } from '../protocol/index.js';
import { DamagedEntryError } from '../raft/errors.js';
import type { Entry, Snapshot, StateRole } from '../raft/types.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { ContentWindow } from './content-dedup.js';
import { type Controller, ControllerError, type LeaderReport } from './controller.js';
import { RpcError } from './controller-rpc.js';
import { GROUPS_TOPIC, GroupLogState } from './group-log.js';
import { LogStartFile } from './log-start.js';
import { writeFileAtomically } from './metadata-store.js';
import { PartitionReplica, termHistory } from './partition-replica.js';
import { AppliedProducers } from './producer-table.js';
import type { BrokerStorage } from './storage.js';
import { dynamicBrokerConfigs, resolveTopicConfig, type TopicConfig } from './topic-config.js';

interface RecoveryReport {
  truncatedBytes: number;
  truncationReason?: string;
  rebuiltIndexes?: number[];
  quarantined?: string[];
}

/** A topic as the cluster metadata records it (the controller's view, by name). */
export interface TopicRecord {
  name: string;
  topicId: string;
  partitionCount: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

export interface PartitionState {
  topic: string;
  index: number;
  /** The partition as the controller records it: replicas, preferred and known leader. */
  info: PartitionInfo;
  /** The replica on this broker, when it hosts one. */
  log: PartitionReplica | undefined;
}

export interface TopicState {
  record: TopicRecord;
  config: TopicConfig;
  partitions: PartitionState[];
}

/** Error with a Kafka error-code name, raised by topic administration. */
export class TopicError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = 'TopicError';
  }
}

/** What a replica's open has set up so far: what a failed open must undo. */
interface OpenedParts {
  log: PartitionLog | undefined;
  storage: DurableRaftStorage | undefined;
  added: boolean;
}

/** `<dataDir>/partitions/<topicId>-<partition>/`: a partition replica's log and Raft state.
 * Keyed by topic id, so a deleted and re-created topic never reads the old data. */
export function partitionDirectory(dataDir: string, topicId: string, partition: number): string {
  return join(dataDir, 'partitions', `${topicId}-${partition}`);
}

/** Committed entries a partition replica applies again at start (producer state window). */
const REPLAY_ENTRIES_AT_START = 10_000;
/** A `__consumer_offsets` replica snapshots its group state every this many applied entries. */
const GROUP_LOG_SNAPSHOT_EVERY_ENTRIES = 1_000;

interface HostedReplica {
  replica: PartitionReplica;
  directory: string;
}

/**
 * The topics of the cluster as this broker has applied them from the controller log, and the
 * partition replicas it hosts. It is the reconciler of DESIGN §6: after every applied
 * controller change it opens the Raft group of each replica the metadata puts here (with the
 * membership from that record) and closes and deletes each one whose removal is applied. No
 * broker tells another to start a group.
 */
export class Topics {
  /** The view Metadata and the handlers read: rebuilt from the controller state when stale. */
  private viewByName = new Map<string, TopicState>();
  /** An applied controller change not yet in `viewByName`. */
  private viewStale = false;
  private readonly hosted = new Map<number, HostedReplica>();
  /** Partition directories found at start that no applied record has claimed yet. */
  private unclaimed = new Map<string, string>();
  private reconciling: Promise<void> = Promise.resolve();
  private reconcileAgain = false;
  private reconcileRunning = false;
  private openFailed = false;
  /**
   * Replicas that failed to open (a damaged directory, too many open files): when each may be
   * tried again. The wait doubles with each failure up to a minute, so a lasting fault does not
   * flood the log, whatever else makes the reconciler run.
   */
  private readonly openBackoff = new Map<number, { failures: number; retryAtMs: number }>();
  private closed = false;
  /**
   * Runs on a partition log before its Raft storage opens (the broker restores committed entries
   * recovery cut, from a peer: src/broker/replica-repair.ts).
   */
  beforeOpen: ((directory: string, log: PartitionLog) => Promise<void>) | undefined;
  /**
   * Waits for the repair of a damaged batch of `log` from a peer; true once none is pending (the
   * broker's scrubber: src/broker/scrubber.ts `repaired`).
   */
  awaitRepair: ((log: PartitionLog) => Promise<boolean>) | undefined;
  /**
   * Replicas a reconcile run opens at once. Each open waits on disk (its files, the group-commit
   * round that adds its group, a restore from a peer): one at a time, a broker restarting with
   * thousands of replicas, or a topic of many partitions, waited for each in turn.
   */
  openConcurrency = 8;

  constructor(
    private readonly config: BrokerConfig,
    private readonly controller: Controller,
    private readonly node: MultiRaftNode,
    private readonly storage: BrokerStorage,
    private readonly logger: Logger,
  ) {
    controller.on('change', () => {
      // Metadata answers from this view: it follows every applied change (rebuilt on its next
      // read), even while a reconcile run is still opening the replicas of an earlier state
      // (several fsyncs each), which a restarted broker's first run does for seconds.
      this.viewStale = true;
      this.scheduleReconcile();
    });
    node.on('role', (group: number, role: StateRole, leader: number) => {
      const hosted = this.hosted.get(group);
      if (hosted === undefined) return;
      hosted.replica.onRole(role, leader);
      if (hosted.replica.isLeader) controller.heartbeatSoon();
    });
  }

  /** Lists the partition directories on disk (claimed as records are applied). */
  async open(): Promise<void> {
    const root = join(this.config.dataDir, 'partitions');
    await mkdir(root, { recursive: true });
    for (const entry of await readdir(root)) this.unclaimed.set(entry, join(root, entry));
  }

  get(name: string): TopicState | undefined {
    return this.byName.get(name);
  }

  partition(topic: string, index: number): PartitionState | undefined {
    return this.byName.get(topic)?.partitions[index];
  }

  list(): TopicState[] {
    return [...this.byName.values()];
  }

  /** Replicas this broker hosts (for leader reports and shutdown). */
  replicas(): PartitionReplica[] {
    return [...this.hosted.values()].map((hosted) => hosted.replica);
  }

  /** Leadership of hosted groups the controller has not recorded yet (sent with heartbeats). */
  leaderReports(): LeaderReport[] {
    const state = this.controller.state;
    const reports: LeaderReport[] = [];
    for (const [groupId, { replica }] of this.hosted) {
      if (!replica.isLeader) continue;
      const recorded = state.partitionByGroup(groupId);
      if (
        recorded !== undefined &&
        (recorded.leader !== this.config.brokerId || recorded.leaderEpoch < replica.leaderEpoch)
      )
        reports.push({ groupId, leader: this.config.brokerId, leaderEpoch: replica.leaderEpoch });
    }
    return reports;
  }

  async create(options: {
    name: string;
    partitionCount: number;
    replicationFactor: number;
    configs: Record<string, string>;
    assignments?: number[][] | null;
    validateOnly?: boolean;
    timeoutMs?: number;
    /** Only the broker itself creates internal topics. */
    internal?: boolean;
  }): Promise<TopicState | undefined> {
    if (options.name === GROUPS_TOPIC && options.internal !== true)
      throw new TopicError(
        'INVALID_REQUEST',
        `${GROUPS_TOPIC} is the internal consumer groups topic; brokers create it when a group is first used`,
      );
    await this.run(
      {
        op: 'create-topic',
        name: options.name,
        topicId: randomUUID(),
        partitions: options.partitionCount,
        replicationFactor: options.replicationFactor,
        assignments: options.assignments ?? null,
        configs: options.configs,
        validateOnly: options.validateOnly ?? false,
      },
      options.timeoutMs,
    );
    if (options.validateOnly) return undefined;
    this.logger.info({ topic: options.name, partitions: options.partitionCount }, 'topic created');
    return this.byName.get(options.name);
  }

  async delete(name: string, timeoutMs?: number): Promise<void> {
    if (name === GROUPS_TOPIC)
      throw new TopicError('INVALID_TOPIC_EXCEPTION', `${GROUPS_TOPIC} is internal and cannot be deleted`);
    await this.run(
      { op: 'delete-topic', name, topicId: this.byName.get(name)?.record.topicId ?? null },
      timeoutMs,
    );
    this.logger.info({ topic: name }, 'topic deleted');
  }

  async addPartitions(
    name: string,
    totalCount: number,
    validateOnly: boolean,
    assignments: number[][] | null = null,
    timeoutMs?: number,
  ): Promise<void> {
    if (name === GROUPS_TOPIC)
      throw new TopicError(
        'INVALID_PARTITIONS',
        `${GROUPS_TOPIC} keeps its partition count: groups are placed by hash over it`,
      );
    if (totalCount > this.config.maxTopicPartitions)
      throw new TopicError(
        'INVALID_PARTITIONS',
        `${totalCount} partitions exceed max_topic_partitions (${this.config.maxTopicPartitions})`,
      );
    await this.run(
      {
        op: 'create-partitions',
        name,
        count: totalCount,
        seenCount: this.byName.get(name)?.partitions.length ?? 0,
        assignments,
        validateOnly,
      },
      timeoutMs,
    );
    if (!validateOnly) this.logger.info({ topic: name, partitions: totalCount }, 'partitions added');
  }

  private async run(command: Parameters<Controller['execute']>[0], timeoutMs = 30_000): Promise<void> {
    try {
      await this.controller.execute(command, timeoutMs);
    } catch (error) {
      if (error instanceof ControllerError) throw new TopicError(error.code, error.message);
      // A command forwarded to the controller leader comes back as an RpcError carrying the
      // leader's ControllerError code: the client's mistake (an unknown topic), not the broker's.
      if (error instanceof RpcError && error.code in ErrorCode)
        throw new TopicError(error.code, error.message);
      throw error;
    }
    // The change is applied here; let the reconciler open what it put on this broker.
    await this.reconciled();
    // New partitions this broker is to lead are usable when the answer goes out: wait (bounded)
    // for their first election and the new leader's first commit.
    if (
      (command.op === 'create-topic' || command.op === 'create-partitions') &&
      !('validateOnly' in command && command.validateOnly)
    )
      await this.preferredLeadersReady(command.name, Math.min(timeoutMs, 5_000));
  }

  private async preferredLeadersReady(topic: string, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const self = this.config.brokerId;
    while (performance.now() < deadline) {
      const state = this.byName.get(topic);
      const waiting = state?.partitions.some(
        (partition) =>
          partition.info.preferredLeader === self &&
          partition.log !== undefined &&
          !(partition.log.isLeader && partition.log.committedInOwnTerm),
      );
      if (!waiting) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Resolves once the reconciler has caught up with the applied state. */
  async reconciled(): Promise<void> {
    while (this.reconcileRunning) await this.reconciling;
  }

  /** Resolves once every hosted replica whose group has this broker as its only voter leads it
   * (or `timeoutMs` passed). */
  async soleVotersLeading(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const self = this.config.brokerId;
    while (performance.now() < deadline) {
      const waiting = [...this.hosted.values()].some(({ replica }) => {
        const info = this.controller.state.partitionByGroup(replica.groupId);
        return (
          info !== undefined &&
          info.replicas.length === 1 &&
          info.replicas[0] === self &&
          !(replica.isLeader && replica.committedInOwnTerm)
        );
      });
      if (!waiting) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Retention sweep over the replicas hosted here (whole old segments). */
  async runRetention(nowMs: number): Promise<number> {
    let removed = 0;
    for (const state of this.byName.values()) {
      const { retentionMs, retentionBytes } = state.config;
      if (retentionMs < 0 && retentionBytes < 0) continue;
      // The consumer groups' state is bounded by its snapshots, never by retention.
      if (state.record.name === GROUPS_TOPIC) continue;
      for (const partition of state.partitions) {
        if (partition.log === undefined) continue;
        try {
          removed += await partition.log.applyRetention({ nowMs, retentionMs, retentionBytes });
        } catch (error) {
          this.logger.error(
            { err: error, topic: partition.topic, partition: partition.index },
            'retention failed',
          );
        }
      }
    }
    return removed;
  }

  /**
   * Writes each hosted replica's idempotent-producer state to its checkpoint file (a restart
   * replays only the entries after it), after forgetting producers idle longer than
   * `producer_id_expiration`. Runs with the retention sweep and at close.
   */
  async checkpointProducers(nowMs: number): Promise<void> {
    for (const { replica, directory } of this.hosted.values()) {
      if (replica.groupLog !== undefined) continue;
      const expired = replica.producers.expire(nowMs, this.config.producerIdExpirationMs);
      if (expired > 0)
        this.logger.debug(
          { topic: replica.topic, partition: replica.partition, expired },
          'producer ids expired',
        );
      try {
        const state = replica.producers.encode();
        // A restart replays only entries after the checkpoint: the DeleteRecords entries it
        // covers must be saved first.
        await replica.logStartSaved();
        await writeFileAtomically(join(directory, PRODUCER_CHECKPOINT_FILE), state);
      } catch (error) {
        this.logger.warn(
          { err: error, topic: replica.topic, partition: replica.partition },
          'writing the producer checkpoint failed (a restart replays more of the log)',
        );
      }
    }
  }

  /** Closes every hosted group (the MultiRaftNode must be stopped first). */
  async close(): Promise<void> {
    this.closed = true;
    await this.reconciled();
    await this.checkpointProducers(Date.now());
    for (const { replica } of this.hosted.values()) await replica.close();
    this.hosted.clear();
  }

  // ---- the reconciler ----

  private scheduleReconcile(): void {
    if (this.closed) return;
    if (this.reconcileRunning) {
      this.reconcileAgain = true;
      return;
    }
    this.reconcileRunning = true;
    this.reconciling = (async () => {
      try {
        do {
          this.reconcileAgain = false;
          await this.reconcile(this.controller.state);
        } while (this.reconcileAgain && !this.closed);
      } catch (error) {
        this.logger.error({ err: error }, 'reconciling partition replicas failed');
      } finally {
        this.reconcileRunning = false;
        // A change that arrived during a failed run, or a replica that failed to open, gets a
        // later run of its own (never a spin).
        if ((this.reconcileAgain || this.openFailed) && !this.closed) {
          this.reconcileAgain = false;
          this.openFailed = false;
          setTimeout(() => this.scheduleReconcile(), 1000).unref();
        }
      }
    })();
  }

  private async reconcile(state: ControllerState): Promise<void> {
    // Metadata answers from the new state at once (replicas not opened yet answer
    // NOT_LEADER_OR_FOLLOWER, which clients retry), not only after every replica opened.
    this.rebuildView(state);
    const self = this.config.brokerId;
    const wanted = new Map<number, PartitionInfo>();
    for (const partition of state.replicasOn(self)) wanted.set(partition.groupId, partition);
    // Close and delete replicas whose removal (topic deletion) is applied.
    for (const [groupId, hosted] of this.hosted) {
      if (wanted.has(groupId)) continue;
      this.hosted.delete(groupId);
      await this.node.removeGroup(groupId);
      await rm(hosted.directory, { recursive: true, force: true });
      this.logger.info({ groupId, directory: hosted.directory }, 'removed a partition replica');
    }
    // Open the replicas the metadata puts here, `openConcurrency` at once.
    const toOpen = [...wanted].filter(([groupId]) => !this.hosted.has(groupId));
    const openNext = async (): Promise<void> => {
      for (let next = toOpen.shift(); next !== undefined; next = toOpen.shift()) {
        const [groupId, partition] = next;
        if (this.hosted.has(groupId) || this.closed) continue;
        const topic = state.topicById(partition.topicId);
        if (topic === undefined) continue; // deleted meanwhile: the next run sees it
        const backoff = this.openBackoff.get(groupId);
        if (backoff !== undefined && performance.now() < backoff.retryAtMs) {
          this.openFailed = true; // tried again by a later run
          continue;
        }
        try {
          await this.openReplica(partition, topic);
          this.openBackoff.delete(groupId);
        } catch (error) {
          const failures = (backoff?.failures ?? 0) + 1;
          this.openBackoff.set(groupId, {
            failures,
            retryAtMs: performance.now() + Math.min(60_000, 1000 * 2 ** (failures - 1)),
          });
          // One bad replica (a damaged directory, too many open files) must not keep the others
          // closed: the next controller change or the retry below tries it again.
          this.logger.error({ err: error, groupId, topic: topic.name }, 'opening a partition replica failed');
          this.openFailed = true;
        }
      }
    };
    // Settled, not all: a run ends only when every open it started has ended (close() waits
    // for the run, and each open's replica must be hosted, or closed, by then).
    const workers = await Promise.allSettled(
      Array.from({ length: Math.max(1, Math.min(this.openConcurrency, toOpen.length)) }, openNext),
    );
    for (const worker of workers) if (worker.status === 'rejected') throw worker.reason;
    // Directories of deleted topics (deleted while this broker was down) go.
    for (const [name, directory] of this.unclaimed) {
      const topicId = name.slice(0, 36);
      if (state.isDeletedTopic(topicId)) {
        this.unclaimed.delete(name);
        await rm(directory, { recursive: true, force: true });
        this.logger.info({ directory }, 'removed the data of a topic deleted while this broker was away');
      } else if (this.movedAway(state, topicId, Number(name.slice(37)))) {
        this.unclaimed.delete(name);
        await rm(directory, { recursive: true, force: true });
        this.logger.info({ directory }, 'removed a replica moved elsewhere while this broker was away');
      }
    }
    // The replicas this run opened, in the newest state (it may have moved on meanwhile).
    this.rebuildView(this.controller.state);
  }

  /**
   * Opens the replica of `partition` here and hosts it. A failure at any step leaves nothing
   * behind for the retry to trip over: the log is closed, and a Raft group already added to the
   * node is removed (which closes its storage), never left there to make the retry fail with
   * "group N exists".
   */
  private async openReplica(partition: PartitionInfo, topic: TopicInfo): Promise<void> {
    const opened: OpenedParts = { log: undefined, storage: undefined, added: false };
    // A directory found at start stays unclaimed for the retry: it is not a new replica (a new
    // one campaigns at once when it is the preferred leader).
    const key = `${partition.topicId}-${partition.partition}`;
    const unclaimed = this.unclaimed.get(key);
    try {
      await this.openReplicaParts(partition, topic, opened);
    } catch (error) {
      if (unclaimed !== undefined) this.unclaimed.set(key, unclaimed);
      if (opened.added) await this.node.removeGroup(partition.groupId).catch(() => undefined);
      else if (opened.storage !== undefined) await opened.storage.close().catch(() => undefined);
      else await opened.log?.close().catch(() => undefined);
      throw error;
    }
  }

  private async openReplicaParts(
    partition: PartitionInfo,
    topic: TopicInfo,
    opened: OpenedParts,
  ): Promise<void> {
    const config = resolveTopicConfig(
      topic.configs,
      this.config,
      dynamicBrokerConfigs(this.controller.state, this.config.brokerId),
    );
    const directory = partitionDirectory(this.config.dataDir, partition.topicId, partition.partition);
    const fresh = !this.unclaimed.delete(`${partition.topicId}-${partition.partition}`);
    // Read before the log opens: a damaged file refuses the replica with nothing left open.
    const logStartFile = new LogStartFile(directory);
    const savedLogStart = await logStartFile.read();
    const log: PartitionLog & { recovery?: RecoveryReport } = this.storage.openLog(directory, {
      segmentBytes: config.segmentBytes,
      segmentMs: config.segmentMs,
      // The storage needs every batch to fit one segment.
      maxBatchBytes: Math.min(this.config.maxMessageBytes, config.segmentBytes),
    });
    opened.log = log;
    const recovery = log.recovery;
    if (recovery !== undefined && recovery.truncatedBytes > 0)
      this.logger.warn(
        {
          topic: topic.name,
          partition: partition.partition,
          truncatedBytes: recovery.truncatedBytes,
          reason: recovery.truncationReason,
        },
        'cut a torn or corrupt log tail at the last valid batch',
      );
    if (recovery?.quarantined !== undefined && recovery.quarantined.length > 0)
      this.logger.warn(
        { topic: topic.name, partition: partition.partition, files: recovery.quarantined },
        'moved what recovery cut off into the quarantine folder',
      );
    if (recovery?.rebuiltIndexes !== undefined && recovery.rebuiltIndexes.length > 0)
      this.logger.info(
        { topic: topic.name, partition: partition.partition, segments: recovery.rebuiltIndexes },
        'rebuilt index files from the log',
      );
    await this.beforeOpen?.(directory, log);
    const storage = new DurableRaftStorage({
      log,
      dir: directory,
      // A replica added to a running group (it enters as a learner) starts empty and learns the
      // membership from the leader's snapshot; only founding members bootstrap it.
      initialConfState: partition.learners.includes(this.config.brokerId)
        ? { voters: [], learners: [] }
        : { voters: partition.replicas.map(nodeId), learners: partition.learners.map(nodeId) },
      fsync: this.config.fsyncEnabled,
      relaxedSyncIntervalMs: this.config.flushIntervalMs,
      // Raft's own control batches (leader no-op, membership) carry no timestamp (Kafka's -1), so
      // they never make a segment look new to retention or to a lookup by time.
      wallMs: () => -1,
    });
    opened.storage = storage;
    const termRuns = termHistory(storage);
    let replica: PartitionReplica | undefined;
    const applied: Array<readonly Entry[]> = [];
    // The consumer groups' partitions keep their whole state in memory, restored from the
    // group's snapshot, and replay every entry after it.
    const groupLog = topic.name === GROUPS_TOPIC ? groupLogFrom(storage.snapshot()) : undefined;
    // Idempotent-producer state: from the newest of the producer checkpoint and the snapshot,
    // then the entries after it; without either, from the last entries of the log.
    const producers = groupLog === undefined ? await restoreProducers(directory, storage) : undefined;
    const committed = Math.min(storage.hardState.commit, storage.lastIndex());
    const snapshotAt = storage.snapshot().metadata.index;
    const contentDedup = this.config.deduplicationEnabled && groupLog === undefined;
    let replayFrom = producers?.replayFrom ?? Math.max(snapshotAt, committed - REPLAY_ENTRIES_AT_START);
    // The content-hash window is rebuilt by applying the last entries again (each holds at least
    // one record, so this many entries cover the window's records).
    if (contentDedup)
      replayFrom = Math.max(
        snapshotAt,
        Math.min(replayFrom, committed - this.config.deduplicationWindowRecords),
      );
    const appliedIndex = logIndex(replayFrom);
    let snapshotIndex = groupLog?.appliedIndex ?? 0;
    let snapshotting = false;
    const snapshotGroupLogIfDue = (target: PartitionReplica): void => {
      const state = target.groupLog;
      if (state === undefined || snapshotting) return;
      if (state.appliedIndex - snapshotIndex < GROUP_LOG_SNAPSHOT_EVERY_ENTRIES) return;
      const index = state.appliedIndex;
      snapshotting = true;
      this.node
        .compact(partition.groupId, logIndex(index), state.encodeSnapshot())
        .then(
          () => {
            snapshotIndex = index;
          },
          (error: unknown) =>
            this.logger.warn({ err: error, groupId: partition.groupId }, 'consumer groups snapshot failed'),
        )
        .finally(() => {
          snapshotting = false;
        });
    };
    const groupOptions: GroupOptions = {
      ...(groupLog === undefined ? { appliedIndex } : {}),
      onApply: (entries) => {
        if (replica === undefined) applied.push(entries);
        else {
          replica.onApply(entries);
          snapshotGroupLogIfDue(replica);
        }
      },
      onSnapshot: (snapshot) => {
        if (replica === undefined) return;
        if (groupLog !== undefined) {
          replica.groupLog = groupLogFrom(snapshot);
          snapshotIndex = replica.groupLog.appliedIndex;
        } else replica.restoreProducers(producersFrom(snapshot) ?? producersAt(snapshot.metadata.index));
      },
    };
    // A new group elects at once from its preferred leader instead of waiting a timeout, and a
    // group whose only voter is this broker elects at once on every start.
    const soleVoter = partition.replicas.length === 1 && partition.replicas[0] === this.config.brokerId;
    const add = (): Promise<void> => {
      const added = this.node.addGroup(partition.groupId, storage, groupOptions);
      if ((fresh && partition.preferredLeader === this.config.brokerId) || soleVoter)
        this.node.campaign(partition.groupId);
      return added;
    };
    // addGroup waits for the group-commit round in flight; the group's view exists after it. A
    // group the core refuses (its stored commit is beyond its log, say) is not on the node: its
    // files are closed so that a later attempt can open them again. One refused over a damaged
    // entry first waits, log open, for the repair the refusing read asked for, then tries again.
    try {
      await add();
    } catch (error) {
      if (!(error instanceof DamagedEntryError) || !(await this.awaitRepair?.(log))) throw error;
      this.logger.warn(
        { topic: topic.name, partition: partition.partition, groupId: partition.groupId },
        'a damaged entry stopped the partition replica from opening; repaired from a peer, opening it again',
      );
      await add();
    }
    opened.added = true;
    replica = new PartitionReplica(
      this.node,
      partition.groupId,
      storage,
      topic.name,
      partition.partition,
      termRuns,
    );
    replica.groupLog = groupLog;
    replica.maxBatchBytes = Math.min(this.config.maxMessageBytes, config.segmentBytes);
    replica.replayedUpTo = committed;
    if (contentDedup)
      replica.contentWindow = new ContentWindow({
        windowMs: this.config.deduplicationWindowMs,
        maxRecords: this.config.deduplicationWindowRecords,
      });
    if (producers?.state !== undefined) replica.restoreProducers(producers.state);
    replica.onBackgroundError = (error, what) =>
      this.logger.error({ err: error, topic: topic.name, partition: partition.partition }, `${what} failed`);
    replica.restoreLogStart(logStartFile, savedLogStart);
    for (const entries of applied) replica.onApply(entries);
    const status = this.node.status(partition.groupId);
    if (status !== undefined) replica.onRole(status.role, status.leader);
    this.hosted.set(partition.groupId, { replica, directory });
    // Handlers find the replica at once, not when the reconcile run that opened it ends.
    this.viewStale = true;
    // A 'role' event that came before the replica was hosted found nothing to report: a leader
    // already is reports now, not with the next periodic heartbeat.
    if (replica.isLeader) this.controller.heartbeatSoon();
  }

  /**
   * True when `state` shows that partition `index` of live topic `topicId` moved off this broker
   * (docs/operations.md, Self-healing). Only a state that holds this start's own registration
   * counts: an older one, replayed at start, may predate the replica's addition here.
   */
  private movedAway(state: ControllerState, topicId: string, index: number): boolean {
    const partition = state.topicById(topicId)?.partitions[index];
    const self = this.config.brokerId;
    return (
      partition !== undefined &&
      state.broker(self)?.incarnationId === this.controller.incarnationId &&
      !partition.replicas.includes(self) &&
      !partition.learners.includes(self)
    );
  }

  /** The view, rebuilt first when a controller change came since it was built. */
  private get byName(): Map<string, TopicState> {
    if (this.viewStale) this.rebuildView(this.controller.state);
    return this.viewByName;
  }

  private rebuildView(state: ControllerState): void {
    const byName = new Map<string, TopicState>();
    // Dynamic broker configs (AlterConfigs on a broker resource) are topic defaults: every
    // applied controller change rebuilds this view, so an altered default applies at once.
    const dynamic = dynamicBrokerConfigs(state, this.config.brokerId);
    for (const topic of state.topics()) {
      const config = resolveTopicConfig(topic.configs, this.config, dynamic);
      byName.set(topic.name, {
        record: {
          name: topic.name,
          topicId: topic.topicId,
          partitionCount: topic.partitions.length,
          replicationFactor: topic.replicationFactor,
          configs: topic.configs,
        },
        config,
        partitions: topic.partitions.map((info) => ({
          topic: topic.name,
          index: info.partition,
          info,
          log: this.hosted.get(info.groupId)?.replica,
        })),
      });
    }
    this.viewByName = byName;
    this.viewStale = state !== this.controller.state;
  }
}

/** The producer checkpoint in a partition directory (AppliedProducers' bytes). */
const PRODUCER_CHECKPOINT_FILE = 'producer-state.snap';

function producersAt(index: number): AppliedProducers {
  const state = new AppliedProducers();
  state.appliedIndex = index;
  return state;
}

/** The producer state a partition snapshot carries (after its 8-byte offset header), if any. */
function producersFrom(snapshot: Snapshot): AppliedProducers | undefined {
  if (snapshot.data.length <= 8) return undefined;
  try {
    return AppliedProducers.decode(snapshot.data.subarray(8));
  } catch {
    return undefined;
  }
}

/**
 * The newest usable producer state of a replica at open: its checkpoint file, or the state in its
 * snapshot. A checkpoint must lie within the log (at or past the snapshot, at or before the last
 * entry: a log that lost unsynced entries cannot back it). `replayFrom` is where applying
 * resumes: at most the saved commit; entries the state already holds are skipped.
 */
async function restoreProducers(
  directory: string,
  storage: DurableRaftStorage,
): Promise<{ state: AppliedProducers; replayFrom: number } | undefined> {
  const snapshot = storage.snapshot();
  const snapshotIndex = snapshot.metadata.index;
  let best = producersFrom(snapshot);
  try {
    const checkpoint = AppliedProducers.decode(await readFile(join(directory, PRODUCER_CHECKPOINT_FILE)));
    if (
      checkpoint.appliedIndex >= snapshotIndex &&
      checkpoint.appliedIndex <= storage.lastIndex() &&
      (best === undefined || checkpoint.appliedIndex > best.appliedIndex)
    )
      best = checkpoint;
  } catch {
    // No checkpoint yet, or a damaged one: the snapshot or the replay window rebuilds the state.
  }
  if (best === undefined) return undefined;
  const commit = Math.min(storage.hardState.commit, storage.lastIndex());
  return { state: best, replayFrom: Math.max(snapshotIndex, Math.min(best.appliedIndex, commit)) };
}

/** The consumer-group state a `__consumer_offsets` snapshot carries (after its 8-byte offset
 * header), or an empty state at the snapshot's index. */
function groupLogFrom(snapshot: Snapshot): GroupLogState {
  if (snapshot.data.length > 8) return GroupLogState.decodeSnapshot(snapshot.data.subarray(8));
  const state = new GroupLogState();
  state.appliedIndex = snapshot.metadata.index;
  return state;
}
