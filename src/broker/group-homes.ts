/**
 * Where consumer groups live: the group's partition of the internal topic `__consumer_offsets`
 * (Java's `hashCode(groupId) mod partitions`, as Kafka picks it). Its leader is the group's
 * coordinator. The topic is created through the controller the first time a group is looked up
 * (FindCoordinator answers COORDINATOR_NOT_AVAILABLE, which clients retry, meanwhile).
 */
import type { Logger } from 'pino';
import { term } from '../lib/ids.js';
import { ErrorCode } from '../protocol/index.js';
import { encodeSingleRecordBatch } from '../raft/entry.js';
import type { GroupHome, GroupHomes } from './group-coordinator.js';
import { encodeGroupRecord, GROUPS_TOPIC, type GroupLogRecord, groupPartition } from './group-log.js';
import type { PartitionReplica } from './partition-replica.js';
import type { PartitionState, Topics } from './topics.js';

export interface GroupsTopicOptions {
  /** Partitions of `__consumer_offsets` (`offsets_topic_num_partitions`); fixed once created. */
  partitions: number;
  /** Its replication factor (`offsets_topic_replication_factor`), capped by the live brokers. */
  replicationFactor: number;
  /** Bound on waiting for a group record's commit. */
  persistTimeoutMs: number;
}

export class TopicGroupHomes implements GroupHomes {
  private creating: Promise<void> | null = null;

  constructor(
    private readonly topics: Topics,
    private readonly liveBrokerCount: () => number,
    private readonly options: GroupsTopicOptions,
    private readonly logger: Logger,
  ) {}

  lookup(groupId: string): GroupHome {
    const partition = this.partitionOf(groupId);
    if (partition === undefined) return { kind: 'error', errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    return this.homeOf(partition);
  }

  owned(): Array<Extract<GroupHome, { kind: 'owner' }>> {
    const topic = this.topics.get(GROUPS_TOPIC);
    if (topic === undefined) return [];
    const out: Array<Extract<GroupHome, { kind: 'owner' }>> = [];
    for (const partition of topic.partitions) {
      const home = this.homeOf(partition);
      if (home.kind === 'owner') out.push(home);
    }
    return out;
  }

  /** The broker FindCoordinator names for a group: the leader of its partition. */
  coordinatorOf(groupId: string): { brokerId: number } | { errorCode: number } {
    const partition = this.partitionOf(groupId);
    if (partition === undefined) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    // This broker knows its own leadership before the controller records it.
    if (partition.log?.isLeader) return { brokerId: partition.log.leaderId };
    const leader = partition.info.leader;
    if (leader === undefined || leader < 0) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    return { brokerId: leader };
  }

  /**
   * Like `coordinatorOf`, but the first lookup waits (at most `timeoutMs`) while the topic is
   * created and the group's partition elects its leader, so a client's first FindCoordinator
   * succeeds instead of retrying.
   */
  async awaitCoordinatorOf(
    groupId: string,
    timeoutMs: number,
  ): Promise<{ brokerId: number } | { errorCode: number }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.coordinatorOf(groupId);
      if ('brokerId' in found || performance.now() >= deadline) return found;
      // The creation may wait on the controller far longer (a broker cut off from it waits for
      // the command's own limit): this lookup waits only until its deadline.
      const pause = this.creating === null ? 20 : Math.max(1, deadline - performance.now());
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        ...(this.creating === null ? [] : [this.creating]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, pause);
        }),
      ]);
      clearTimeout(timer);
    }
  }

  private partitionOf(groupId: string): PartitionState | undefined {
    const topic = this.topics.get(GROUPS_TOPIC);
    if (topic === undefined || topic.partitions.length === 0) {
      this.ensureTopic();
      return undefined;
    }
    return topic.partitions[groupPartition(groupId, topic.partitions.length)];
  }

  private homeOf(partition: PartitionState): GroupHome {
    const replica = partition.log;
    if (replica === undefined || !replica.isLeader || replica.groupLog === undefined)
      return { kind: 'error', errorCode: ErrorCode.NOT_COORDINATOR };
    // Until its own no-op commits, a new leader may not have applied all its predecessor
    // committed: loading groups then could miss a generation or an offset.
    if (!replica.committedInOwnTerm)
      return { kind: 'error', errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    return {
      kind: 'owner',
      partition: partition.index,
      epoch: replica.leaderEpoch,
      state: replica.groupLog,
      persist: (record) => this.persist(replica, record),
    };
  }

  private async persist(replica: PartitionReplica, record: GroupLogRecord): Promise<void> {
    const batch = encodeSingleRecordBatch({
      term: term(replica.leaderEpoch),
      timestampMs: Date.now(),
      key: Buffer.from(record.groupId, 'utf8'),
      value: encodeGroupRecord(record),
    });
    // The log refuses an entry above its batch limit inside the Raft loop, which stops the node:
    // a record that large (a huge offset commit or generation) is refused here instead.
    if (batch.length > replica.maxBatchBytes) {
      const error = new Error(
        `a ${record.kind} record of group ${record.groupId} takes ${batch.length} bytes, above the ${replica.maxBatchBytes} a batch may take`,
      );
      (error as Error & { code: string }).code = 'RECORD_TOO_LARGE';
      throw error;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`a ${record.kind} record of group ${record.groupId} did not commit in time`);
        (error as Error & { code: string }).code = 'REQUEST_TIMED_OUT';
        reject(error);
      }, this.options.persistTimeoutMs);
    });
    try {
      await Promise.race([replica.propose([batch]), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private ensureTopic(): void {
    if (this.creating !== null) return;
    const replicationFactor = Math.max(1, Math.min(this.options.replicationFactor, this.liveBrokerCount()));
    this.creating = this.topics
      .create({
        name: GROUPS_TOPIC,
        partitionCount: this.options.partitions,
        replicationFactor,
        internal: true,
        // The partitions' state lives in their snapshots; retention must never cut them.
        configs: { 'retention.ms': '-1', 'retention.bytes': '-1' },
      })
      .then(
        () =>
          this.logger.info(
            { partitions: this.options.partitions, replicationFactor },
            'created the consumer groups topic',
          ),
        (error: unknown) => {
          const code = (error as { errorName?: string }).errorName;
          if (code !== 'TOPIC_ALREADY_EXISTS')
            this.logger.warn(
              { err: error },
              'creating the consumer groups topic failed; retrying on the next lookup',
            );
        },
      )
      .finally(() => {
        this.creating = null;
      });
  }
}
