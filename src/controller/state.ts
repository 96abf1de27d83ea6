/**
 * The applied cluster metadata (DESIGN decision 7): brokers, topics with their ids and partition
 * assignments, configs, and the next free partition-group and producer ids. Every broker holds
 * one and applies the controller group's committed records to it in log order, so every broker
 * holds the same image at the same log index.
 *
 * Rules that keep the image the same everywhere:
 * - `apply` is deterministic: its outcome depends only on the state and the record (no clock,
 *   no randomness, iteration in fixed orders).
 * - A record that is invalid against the current state changes nothing and returns an error that
 *   the proposer hands to its client; every broker reaches the same verdict.
 * - Objects handed out (`BrokerInfo`, `TopicInfo`, `PartitionInfo` and their arrays) are frozen
 *   and replaced, never changed in place: a caller may keep one as a consistent view of the moment
 *   it was read.
 */
import { AssertionError, assert } from '../lib/assert.js';
import {
  ControllerCodecError,
  type ControllerRecord,
  checkArray,
  checkBrokerId,
  checkBrokerList,
  checkEndpoint,
  checkGroupId,
  checkInteger,
  checkObject,
  checkRecord,
  checkString,
  checkTopicId,
  type Endpoint,
  MAX_BROKER_ID,
  MAX_CONFIGS_PER_RECORD,
  MAX_GROUP_ID,
  MAX_LEADER_EPOCH,
  MAX_NAME_LENGTH,
  MAX_PARTITIONS_PER_RECORD,
  MAX_REPLICAS,
  MAX_STRING_LENGTH,
  type PartitionAssignment,
  parseVersionedJson,
  withVersion,
} from './records.js';

/** Kafka error names `apply` answers with (each is in the protocol's error table). */
export const KAFKA_ERROR_NAMES = [
  'TOPIC_ALREADY_EXISTS',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_REPLICA_ASSIGNMENT',
  'BROKER_NOT_AVAILABLE',
  'INVALID_REQUEST',
  'INVALID_TOPIC_EXCEPTION',
  'INCONSISTENT_CLUSTER_ID',
] as const;
export type KafkaErrorName = (typeof KAFKA_ERROR_NAMES)[number];

export type ApplyResult = { ok: true } | { ok: false; errorName: KafkaErrorName; message: string };

export interface BrokerInfo {
  brokerId: number;
  raft: Endpoint;
  client: Endpoint;
  rack: string | null;
  incarnationId: string;
  /** Missed its session (or was fenced by an operator): not a target for new replicas and not
   * listed among live brokers. */
  fenced: boolean;
  /** Leaving the cluster (`goqueue cluster decommission`): no new replicas; its replicas move
   * to the others. */
  decommissioning: boolean;
}

export interface PartitionInfo {
  topicId: string;
  topic: string;
  /** Index of the partition within its topic. */
  partition: number;
  /** The partition's Raft group. */
  groupId: number;
  /** Voting members of the group, in preference order. */
  replicas: number[];
  /** Non-voting members catching up (a replica being added). */
  learners: number[];
  /** Always one of `replicas`. */
  preferredLeader: number;
  /** The group's leader as last reported, -1 when unknown; always -1 or one of `replicas`. */
  leader: number;
  /** The Raft term of `leader`'s leadership, -1 when unknown; never moves backwards. */
  leaderEpoch: number;
  /** Where a move in progress takes the replicas (src/controller/reassignment.ts); empty when
   * none. Cleared by the `partition-replicas` record that reaches it. */
  targetReplicas: number[];
  /** An operator chose the replicas (explicit assignments at creation, a reassignment through the
   * Kafka API): replica balancing leaves the partition where it is. Set by every placement record
   * from its `byOperator`, so a target the controller chooses itself (a repair: re-replication
   * off a dead or decommissioned broker) clears it. The state always sets it; absent reads as
   * false (planner inputs built elsewhere). */
  placedByOperator?: boolean;
}

export interface TopicInfo {
  name: string;
  topicId: string;
  /** Topic-level overrides (`retention.ms`, ...), as strings like Kafka's. */
  configs: Record<string, string>;
  replicationFactor: number;
  /** In partition order: `partitions[i].partition === i`. */
  partitions: PartitionInfo[];
}

/** Group 0 is the controller's own Raft group; partition groups start at 1. */
export const FIRST_PARTITION_GROUP_ID = 1;
export const FIRST_PRODUCER_ID = 0;

export const SNAPSHOT_FORMAT_VERSION = 3;
/** Version 1 has no decommission flags or reassignment targets (read as none). */
const OLDEST_SNAPSHOT_FORMAT_VERSION = 1;
/** Versions before 3 have no `placedByOperator` (read as false). */
const PLACED_BY_OPERATOR_SNAPSHOT_VERSION = 3;

const OK: ApplyResult = Object.freeze({ ok: true });

function reject(errorName: KafkaErrorName, message: string): ApplyResult {
  return { ok: false, errorName, message };
}

const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

/** Kafka's topic name rules (the same as the broker's `checkTopicName`, which the proposer runs
 * first; repeated here because the applied state is the last gate). */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > MAX_NAME_LENGTH) return `topic name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!LEGAL_TOPIC_NAME.test(name)) {
    return `topic name ${JSON.stringify(name)} may only hold ASCII letters, digits, '.', '_' and '-'`;
  }
  return null;
}

function freezeList(list: readonly number[]): number[] {
  return Object.freeze([...list]) as number[];
}

function freezeConfigs(configs: Map<string, string>): Record<string, string> {
  const sorted = [...configs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.freeze(Object.fromEntries(sorted));
}

function freezePartition(partition: PartitionInfo): PartitionInfo {
  return Object.freeze({
    ...partition,
    replicas: freezeList(partition.replicas),
    learners: freezeList(partition.learners),
    targetReplicas: freezeList(partition.targetReplicas),
  });
}

function freezeTopic(topic: TopicInfo): TopicInfo {
  return Object.freeze({ ...topic, partitions: Object.freeze([...topic.partitions]) as PartitionInfo[] });
}

function freezeBroker(broker: BrokerInfo): BrokerInfo {
  return Object.freeze({
    ...broker,
    raft: Object.freeze({ ...broker.raft }),
    client: Object.freeze({ ...broker.client }),
  });
}

function configMap(configs: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(configs));
}

/** The same brokers, in any order. */
function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((brokerId) => b.includes(brokerId));
}

function duplicateIn(list: readonly number[]): number | undefined {
  const seen = new Set<number>();
  for (const item of list) {
    if (seen.has(item)) return item;
    seen.add(item);
  }
  return undefined;
}

export class ControllerState {
  private clusterIdValue: string | null = null;
  private readonly brokerById = new Map<number, BrokerInfo>();
  private readonly topicsById = new Map<string, TopicInfo>();
  private readonly topicIdByName = new Map<string, string>();
  /** Ids of deleted topics: a broker that was down during a deletion finds its leftover replica
   * directories here (positive knowledge, unlike "not in the state", which is also true of a
   * topic this broker has not caught up with yet). Never reused. */
  private readonly deletedTopics = new Set<string>();
  /** Where each partition group lives: its topic and index. */
  private readonly groupLocation = new Map<number, { topicId: string; partition: number }>();
  private clusterConfigs: Record<string, string> = Object.freeze({});
  private readonly brokerConfigOverrides = new Map<number, Record<string, string>>();
  private nextGroupIdValue = FIRST_PARTITION_GROUP_ID;
  private nextProducerIdValue = FIRST_PRODUCER_ID;
  /** Sorted lists, rebuilt on the first read after a change. */
  private brokerListCache: BrokerInfo[] | null = null;
  private topicListCache: TopicInfo[] | null = null;

  private constructor() {}

  static empty(): ControllerState {
    return new ControllerState();
  }

  /** Set by the first `init-cluster` record; null before. */
  get clusterId(): string | null {
    return this.clusterIdValue;
  }

  /** The lowest partition group id never handed out. Ids are never reused: a replica of a deleted
   * topic left on a broker that was down must never be taken for a member of a new group. */
  get nextGroupId(): number {
    return this.nextGroupIdValue;
  }

  /** Producer ids below this belong to blocks already handed out. */
  get nextProducerId(): number {
    return this.nextProducerIdValue;
  }

  /** Every registered broker, by id. */
  brokers(): BrokerInfo[] {
    if (this.brokerListCache === null) {
      const list = [...this.brokerById.values()].sort((a, b) => a.brokerId - b.brokerId);
      this.brokerListCache = Object.freeze(list) as BrokerInfo[];
    }
    return this.brokerListCache;
  }

  broker(id: number): BrokerInfo | undefined {
    return this.brokerById.get(id);
  }

  /** Registered and not fenced, by id. */
  liveBrokers(): BrokerInfo[] {
    return this.brokers().filter((broker) => !broker.fenced);
  }

  /** Every topic, by name. */
  topics(): TopicInfo[] {
    if (this.topicListCache === null) {
      const list = [...this.topicsById.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
      this.topicListCache = Object.freeze(list) as TopicInfo[];
    }
    return this.topicListCache;
  }

  topicByName(name: string): TopicInfo | undefined {
    const topicId = this.topicIdByName.get(name);
    return topicId === undefined ? undefined : this.topicsById.get(topicId);
  }

  topicById(id: string): TopicInfo | undefined {
    return this.topicsById.get(id);
  }

  /** True when a topic with this id existed and was deleted. */
  isDeletedTopic(topicId: string): boolean {
    return this.deletedTopics.has(topicId);
  }

  /** Ids of every deleted topic, sorted. */
  deletedTopicIds(): string[] {
    return [...this.deletedTopics].sort();
  }

  partitionByGroup(groupId: number): PartitionInfo | undefined {
    const location = this.groupLocation.get(groupId);
    if (location === undefined) return undefined;
    return this.topicsById.get(location.topicId)?.partitions[location.partition];
  }

  /** Partitions with a replica or a learner on `brokerId`, by topic name then partition. */
  replicasOn(brokerId: number): PartitionInfo[] {
    const hosted: PartitionInfo[] = [];
    for (const topic of this.topics()) {
      for (const partition of topic.partitions) {
        if (partition.replicas.includes(brokerId) || partition.learners.includes(brokerId)) {
          hosted.push(partition);
        }
      }
    }
    return hosted;
  }

  /**
   * Dynamic broker configs: with no argument the cluster-wide defaults (alter-configs on broker
   * resource ''); with a broker id those defaults overlaid with that broker's own overrides.
   */
  brokerConfigs(brokerId?: number): Record<string, string> {
    if (brokerId === undefined) return this.clusterConfigs;
    const overrides = this.brokerConfigOverrides.get(brokerId);
    if (overrides === undefined) return this.clusterConfigs;
    return Object.freeze({ ...this.clusterConfigs, ...overrides });
  }

  /** The dynamic configs set on broker `brokerId` itself (alter-configs on its id), without the
   * cluster-wide defaults (DescribeConfigs names each value's source). */
  ownBrokerConfigs(brokerId: number): Record<string, string> {
    return this.brokerConfigOverrides.get(brokerId) ?? Object.freeze({});
  }

  /**
   * Applies one committed record. Deterministic; an invalid record changes nothing and returns
   * the Kafka error to answer the proposer's client with. Never throws for a record that
   * `decodeRecord` returned; an `AssertionError` means a bug in this file.
   */
  apply(record: ControllerRecord): ApplyResult {
    let checked: ControllerRecord;
    try {
      // Also copies the record, so the state never shares arrays with the caller.
      checked = checkRecord(record, '');
    } catch (error) {
      if (error instanceof ControllerCodecError) return reject('INVALID_REQUEST', error.message);
      throw error;
    }
    switch (checked.type) {
      case 'init-cluster':
        return this.applyInitCluster(checked.clusterId);
      case 'register-broker':
        this.setBroker({
          brokerId: checked.brokerId,
          raft: checked.raft,
          client: checked.client,
          rack: checked.rack,
          incarnationId: checked.incarnationId,
          fenced: false,
          decommissioning: this.brokerById.get(checked.brokerId)?.decommissioning ?? false,
        });
        return OK;
      case 'fence-broker':
      case 'unfence-broker': {
        const broker = this.brokerById.get(checked.brokerId);
        if (broker === undefined) {
          return reject('BROKER_NOT_AVAILABLE', `broker ${checked.brokerId} is not registered`);
        }
        this.setBroker({ ...broker, fenced: checked.type === 'fence-broker' });
        return OK;
      }
      case 'create-topic':
        return this.applyCreateTopic(checked);
      case 'delete-topic':
        return this.applyDeleteTopic(checked.topicId);
      case 'create-partitions':
        return this.applyCreatePartitions(checked.topicId, checked.partitions, checked.byOperator === true);
      case 'alter-configs':
        return this.applyAlterConfigs(checked);
      case 'producer-id-block':
        return this.applyProducerIdBlock(checked);
      case 'partition-replicas':
        return this.applyPartitionReplicas(checked);
      case 'partition-leaders':
        this.applyPartitionLeaders(checked.leaders);
        return OK;
      case 'preferred-leader':
        return this.applyPreferredLeader(checked.groupId, checked.preferred);
      case 'partition-reassignment':
        return this.applyPartitionReassignment(checked.groupId, checked.target, checked.byOperator === true);
      case 'broker-decommission': {
        const broker = this.brokerById.get(checked.brokerId);
        if (broker === undefined) {
          return reject('BROKER_NOT_AVAILABLE', `broker ${checked.brokerId} is not registered`);
        }
        this.setBroker({ ...broker, decommissioning: checked.decommissioning });
        return OK;
      }
    }
  }

  private applyInitCluster(clusterId: string): ApplyResult {
    if (this.clusterIdValue === null) {
      this.clusterIdValue = clusterId;
      return OK;
    }
    // A repeat of the same record (a leader retrying its bootstrap) is harmless.
    if (this.clusterIdValue === clusterId) return OK;
    return reject(
      'INCONSISTENT_CLUSTER_ID',
      `the cluster is already initialised with id ${this.clusterIdValue}, not ${clusterId}`,
    );
  }

  private applyCreateTopic(record: Extract<ControllerRecord, { type: 'create-topic' }>): ApplyResult {
    const nameProblem = topicNameProblem(record.name);
    if (nameProblem !== null) return reject('INVALID_TOPIC_EXCEPTION', nameProblem);
    if (this.topicIdByName.has(record.name)) {
      return reject('TOPIC_ALREADY_EXISTS', `topic ${record.name} already exists`);
    }
    const holder = this.topicsById.get(record.topicId);
    if (holder !== undefined) {
      return reject('TOPIC_ALREADY_EXISTS', `topic id ${record.topicId} already names topic ${holder.name}`);
    }
    if (this.deletedTopics.has(record.topicId)) {
      return reject('TOPIC_ALREADY_EXISTS', `topic id ${record.topicId} belonged to a deleted topic`);
    }
    const problem = this.assignmentProblem(record.partitions, record.replicationFactor);
    if (problem !== null) return problem;
    const topic: TopicInfo = {
      name: record.name,
      topicId: record.topicId,
      configs: freezeConfigs(configMap(record.configs)),
      replicationFactor: record.replicationFactor,
      partitions: [],
    };
    this.setTopic(this.withNewPartitions(topic, record.partitions, record.byOperator === true));
    return OK;
  }

  private applyDeleteTopic(topicId: string): ApplyResult {
    const topic = this.topicsById.get(topicId);
    if (topic === undefined) return reject('UNKNOWN_TOPIC_OR_PARTITION', `no topic with id ${topicId}`);
    for (const partition of topic.partitions) this.groupLocation.delete(partition.groupId);
    this.topicsById.delete(topicId);
    this.topicIdByName.delete(topic.name);
    this.deletedTopics.add(topicId);
    this.topicListCache = null;
    return OK;
  }

  private applyCreatePartitions(
    topicId: string,
    partitions: PartitionAssignment[],
    byOperator: boolean,
  ): ApplyResult {
    const topic = this.topicsById.get(topicId);
    if (topic === undefined) return reject('UNKNOWN_TOPIC_OR_PARTITION', `no topic with id ${topicId}`);
    const total = topic.partitions.length + partitions.length;
    if (total > MAX_PARTITIONS_PER_RECORD) {
      return reject('INVALID_PARTITIONS', `${total} partitions exceed ${MAX_PARTITIONS_PER_RECORD}`);
    }
    const problem = this.assignmentProblem(partitions, topic.replicationFactor);
    if (problem !== null) return problem;
    this.setTopic(this.withNewPartitions(topic, partitions, byOperator));
    return OK;
  }

  /** Why new partitions cannot be created as assigned, or null. */
  private assignmentProblem(
    partitions: PartitionAssignment[],
    replicationFactor: number,
  ): ApplyResult | null {
    const groupIds = new Set<number>();
    for (const [index, { groupId, replicas }] of partitions.entries()) {
      if (replicas.length !== replicationFactor) {
        return reject(
          'INVALID_REPLICA_ASSIGNMENT',
          `partition ${index} lists ${replicas.length} replicas; the replication factor is ${replicationFactor}`,
        );
      }
      const duplicate = duplicateIn(replicas);
      if (duplicate !== undefined) {
        return reject('INVALID_REPLICA_ASSIGNMENT', `partition ${index} lists broker ${duplicate} twice`);
      }
      const unknown = replicas.find((brokerId) => !this.brokerById.has(brokerId));
      if (unknown !== undefined) {
        return reject('INVALID_REPLICA_ASSIGNMENT', `partition ${index} names unknown broker ${unknown}`);
      }
      if (groupId < this.nextGroupIdValue || groupIds.has(groupId)) {
        return reject(
          'INVALID_REQUEST',
          `partition ${index}: group id ${groupId} is taken (the next free one is ${this.nextGroupIdValue})`,
        );
      }
      groupIds.add(groupId);
    }
    return null;
  }

  private withNewPartitions(
    topic: TopicInfo,
    assignments: PartitionAssignment[],
    placedByOperator: boolean,
  ): TopicInfo {
    const partitions = [...topic.partitions];
    let highestGroupId = this.nextGroupIdValue - 1;
    for (const { groupId, replicas } of assignments) {
      const preferredLeader = replicas[0];
      assert(preferredLeader !== undefined, 'a partition has a replica');
      partitions.push(
        freezePartition({
          topicId: topic.topicId,
          topic: topic.name,
          partition: partitions.length,
          groupId,
          replicas,
          learners: [],
          preferredLeader,
          leader: -1,
          leaderEpoch: -1,
          targetReplicas: [],
          placedByOperator,
        }),
      );
      highestGroupId = Math.max(highestGroupId, groupId);
    }
    assert(highestGroupId < MAX_GROUP_ID, 'group ids stay below the cap');
    this.nextGroupIdValue = highestGroupId + 1;
    return { ...topic, partitions };
  }

  private applyAlterConfigs(record: Extract<ControllerRecord, { type: 'alter-configs' }>): ApplyResult {
    const merge = (current: Record<string, string>): Map<string, string> => {
      const merged = configMap(current);
      for (const [name, value] of Object.entries(record.configs)) {
        if (value === null) merged.delete(name);
        else merged.set(name, value);
      }
      return merged;
    };
    if (record.resource === 'topic') {
      const topic = this.topicByName(record.name);
      if (topic === undefined) return reject('UNKNOWN_TOPIC_OR_PARTITION', `no topic ${record.name}`);
      this.setTopic({ ...topic, configs: freezeConfigs(merge(topic.configs)) });
      return OK;
    }
    if (record.name === '') {
      this.clusterConfigs = freezeConfigs(merge(this.clusterConfigs));
      return OK;
    }
    // Like Kafka, a broker's overrides may be set before it registers.
    const brokerId = Number(record.name);
    const merged = merge(this.brokerConfigOverrides.get(brokerId) ?? {});
    if (merged.size === 0) this.brokerConfigOverrides.delete(brokerId);
    else this.brokerConfigOverrides.set(brokerId, freezeConfigs(merged));
    return OK;
  }

  private applyProducerIdBlock(
    record: Extract<ControllerRecord, { type: 'producer-id-block' }>,
  ): ApplyResult {
    if (!this.brokerById.has(record.brokerId)) {
      return reject('BROKER_NOT_AVAILABLE', `broker ${record.brokerId} is not registered`);
    }
    if (record.firstProducerId < this.nextProducerIdValue) {
      return reject(
        'INVALID_REQUEST',
        `producer id block at ${record.firstProducerId} overlaps ids already handed out (next free: ${this.nextProducerIdValue})`,
      );
    }
    this.nextProducerIdValue = record.firstProducerId + record.size;
    assert(Number.isSafeInteger(this.nextProducerIdValue), 'producer ids stay safe integers');
    return OK;
  }

  private applyPartitionReplicas(
    record: Extract<ControllerRecord, { type: 'partition-replicas' }>,
  ): ApplyResult {
    const partition = this.partitionByGroup(record.groupId);
    if (partition === undefined) {
      return reject('UNKNOWN_TOPIC_OR_PARTITION', `no partition in group ${record.groupId}`);
    }
    const members = [...record.replicas, ...record.learners];
    const duplicate = duplicateIn(members);
    if (duplicate !== undefined) {
      return reject(
        'INVALID_REPLICA_ASSIGNMENT',
        `broker ${duplicate} is listed twice among replicas and learners`,
      );
    }
    const unknown = members.find((brokerId) => !this.brokerById.has(brokerId));
    if (unknown !== undefined) return reject('INVALID_REPLICA_ASSIGNMENT', `unknown broker ${unknown}`);
    // A leader that is no longer a voter has stepped down; its epoch stays so that older
    // reports are still recognised as stale.
    const leader = record.replicas.includes(partition.leader) ? partition.leader : -1;
    // Reaching the target (its voters, no learners left) completes the move, and the target's
    // first broker becomes the preferred leader (Kafka's rule for a reassignment's replica list).
    const reached = record.learners.length === 0 && sameMembers(record.replicas, partition.targetReplicas);
    const preferredLeader = reached
      ? partition.targetReplicas[0]!
      : record.replicas.includes(partition.preferredLeader)
        ? partition.preferredLeader
        : record.replicas[0]!;
    this.setPartition({
      ...partition,
      replicas: record.replicas,
      learners: record.learners,
      preferredLeader,
      leader,
      targetReplicas: reached ? [] : partition.targetReplicas,
    });
    return OK;
  }

  private applyPartitionReassignment(groupId: number, target: number[], byOperator: boolean): ApplyResult {
    const partition = this.partitionByGroup(groupId);
    if (partition === undefined)
      return reject('UNKNOWN_TOPIC_OR_PARTITION', `no partition in group ${groupId}`);
    const duplicate = duplicateIn(target);
    if (duplicate !== undefined)
      return reject('INVALID_REPLICA_ASSIGNMENT', `target lists broker ${duplicate} twice`);
    const unknown = target.find((brokerId) => !this.brokerById.has(brokerId));
    if (unknown !== undefined) return reject('INVALID_REPLICA_ASSIGNMENT', `unknown broker ${unknown}`);
    // A target the partition already has is no move at all: the replicas only take its order,
    // and its first broker becomes the preferred leader.
    if (partition.learners.length === 0 && sameMembers(partition.replicas, target)) {
      this.setPartition({
        ...partition,
        replicas: target,
        preferredLeader: target[0]!,
        targetReplicas: [],
        placedByOperator: byOperator,
      });
      return OK;
    }
    this.setPartition({ ...partition, targetReplicas: target, placedByOperator: byOperator });
    return OK;
  }

  private applyPartitionLeaders(
    leaders: Array<{ groupId: number; leader: number; leaderEpoch: number }>,
  ): void {
    for (const report of leaders) {
      const partition = this.partitionByGroup(report.groupId);
      // A report may race a topic deletion or a newer report: both are normal, and ignored.
      if (partition === undefined || report.leaderEpoch < partition.leaderEpoch) continue;
      if (report.leader !== -1 && !partition.replicas.includes(report.leader)) continue;
      if (report.leader === partition.leader && report.leaderEpoch === partition.leaderEpoch) continue;
      this.setPartition({ ...partition, leader: report.leader, leaderEpoch: report.leaderEpoch });
    }
  }

  private applyPreferredLeader(groupId: number, preferred: number): ApplyResult {
    const partition = this.partitionByGroup(groupId);
    if (partition === undefined)
      return reject('UNKNOWN_TOPIC_OR_PARTITION', `no partition in group ${groupId}`);
    if (!partition.replicas.includes(preferred)) {
      return reject(
        'INVALID_REPLICA_ASSIGNMENT',
        `broker ${preferred} is not a replica of group ${groupId} (replicas ${partition.replicas.join(',')})`,
      );
    }
    this.setPartition({ ...partition, preferredLeader: preferred });
    return OK;
  }

  private setBroker(broker: BrokerInfo): void {
    this.brokerById.set(broker.brokerId, freezeBroker(broker));
    this.brokerListCache = null;
  }

  /** Stores `topic` (new or replacing the one with its id) and indexes its partitions. */
  private setTopic(topic: TopicInfo): void {
    const partitions = topic.partitions.map((partition) =>
      Object.isFrozen(partition) ? partition : freezePartition(partition),
    );
    const stored = freezeTopic({ ...topic, partitions });
    this.topicsById.set(stored.topicId, stored);
    this.topicIdByName.set(stored.name, stored.topicId);
    for (const partition of stored.partitions) {
      this.groupLocation.set(partition.groupId, { topicId: stored.topicId, partition: partition.partition });
    }
    this.topicListCache = null;
  }

  private setPartition(partition: PartitionInfo): void {
    const topic = this.topicsById.get(partition.topicId);
    assert(topic?.partitions[partition.partition]?.groupId === partition.groupId, 'partition is indexed');
    const partitions = [...topic.partitions];
    partitions[partition.partition] = freezePartition(partition);
    this.setTopic({ ...topic, partitions });
  }

  // ---- invariants ----

  /** The first broken invariant, or null. Cost O(state); tests run it after every record. */
  invariantProblem(): string | null {
    if (!Number.isSafeInteger(this.nextGroupIdValue) || this.nextGroupIdValue < FIRST_PARTITION_GROUP_ID) {
      return `nextGroupId ${this.nextGroupIdValue} is below ${FIRST_PARTITION_GROUP_ID}`;
    }
    if (!Number.isSafeInteger(this.nextProducerIdValue) || this.nextProducerIdValue < FIRST_PRODUCER_ID) {
      return `nextProducerId ${this.nextProducerIdValue} is invalid`;
    }
    for (const [id, broker] of this.brokerById) {
      if (broker.brokerId !== id) return `broker ${broker.brokerId} is stored under ${id}`;
    }
    if (this.topicIdByName.size !== this.topicsById.size) return 'topic name index is out of step';
    let partitionCount = 0;
    for (const [topicId, topic] of this.topicsById) {
      if (topic.topicId !== topicId) return `topic ${topic.name} is stored under id ${topicId}`;
      if (this.topicIdByName.get(topic.name) !== topicId) return `topic ${topic.name} is not indexed by name`;
      if (topic.partitions.length === 0) return `topic ${topic.name} has no partitions`;
      for (const [index, partition] of topic.partitions.entries()) {
        const problem = this.partitionProblem(topic, index, partition);
        if (problem !== null) return `topic ${topic.name} partition ${index}: ${problem}`;
        partitionCount++;
      }
    }
    if (this.groupLocation.size !== partitionCount) return 'a partition group id is used twice';
    for (const topicId of this.deletedTopics) {
      if (this.topicsById.has(topicId)) return `topic id ${topicId} is both live and deleted`;
    }
    return null;
  }

  private partitionProblem(topic: TopicInfo, index: number, partition: PartitionInfo): string | null {
    if (
      partition.topicId !== topic.topicId ||
      partition.topic !== topic.name ||
      partition.partition !== index
    ) {
      return 'names another topic or index';
    }
    if (partition.groupId < FIRST_PARTITION_GROUP_ID || partition.groupId >= this.nextGroupIdValue) {
      return `group id ${partition.groupId} is outside ${FIRST_PARTITION_GROUP_ID}..${this.nextGroupIdValue - 1}`;
    }
    const location = this.groupLocation.get(partition.groupId);
    if (location?.topicId !== topic.topicId || location.partition !== index) {
      return `group ${partition.groupId} is indexed elsewhere`;
    }
    if (partition.replicas.length === 0) return 'has no replicas';
    const members = [...partition.replicas, ...partition.learners];
    if (duplicateIn(members) !== undefined) return 'lists a broker twice';
    const unknown = members.find((brokerId) => !this.brokerById.has(brokerId));
    if (unknown !== undefined) return `names unknown broker ${unknown}`;
    if (!partition.replicas.includes(partition.preferredLeader)) return 'preferred leader is not a replica';
    if (partition.leader !== -1 && !partition.replicas.includes(partition.leader))
      return 'leader is not a replica';
    if (partition.leaderEpoch < -1) return `leader epoch ${partition.leaderEpoch} is below -1`;
    if (duplicateIn(partition.targetReplicas) !== undefined) return 'target lists a broker twice';
    const unknownTarget = partition.targetReplicas.find((brokerId) => !this.brokerById.has(brokerId));
    if (unknownTarget !== undefined) return `target names unknown broker ${unknownTarget}`;
    return null;
  }

  /** Throws `AssertionError` when an invariant is broken (a bug in `apply`). */
  assertInvariants(): void {
    const problem = this.invariantProblem();
    if (problem !== null) throw new AssertionError(`controller state: ${problem}`);
  }

  // ---- snapshot ----

  /**
   * The whole state as bytes: `version:u8 json`, the JSON canonical (brokers by id, topics by
   * name, configs as sorted pairs, fixed field order), so equal states give equal bytes.
   */
  encodeSnapshot(): Uint8Array {
    const pairs = (configs: Record<string, string>): Array<[string, string]> =>
      Object.keys(configs)
        .sort()
        .map((name) => [name, configs[name]!]);
    const snapshot = {
      clusterId: this.clusterIdValue,
      nextGroupId: this.nextGroupIdValue,
      nextProducerId: this.nextProducerIdValue,
      brokers: this.brokers().map((broker) => ({
        brokerId: broker.brokerId,
        raft: { host: broker.raft.host, port: broker.raft.port },
        client: { host: broker.client.host, port: broker.client.port },
        rack: broker.rack,
        incarnationId: broker.incarnationId,
        fenced: broker.fenced,
        decommissioning: broker.decommissioning,
      })),
      topics: this.topics().map((topic) => ({
        name: topic.name,
        topicId: topic.topicId,
        configs: pairs(topic.configs),
        replicationFactor: topic.replicationFactor,
        partitions: topic.partitions.map((partition) => ({
          groupId: partition.groupId,
          replicas: partition.replicas,
          learners: partition.learners,
          preferredLeader: partition.preferredLeader,
          leader: partition.leader,
          leaderEpoch: partition.leaderEpoch,
          targetReplicas: partition.targetReplicas,
          placedByOperator: partition.placedByOperator === true,
        })),
      })),
      deletedTopicIds: this.deletedTopicIds(),
      clusterConfigs: pairs(this.clusterConfigs),
      brokerConfigOverrides: [...this.brokerConfigOverrides.keys()]
        .sort((a, b) => a - b)
        .map((brokerId) => ({ brokerId, configs: pairs(this.brokerConfigOverrides.get(brokerId)!) })),
    };
    return withVersion(SNAPSHOT_FORMAT_VERSION, JSON.stringify(snapshot));
  }

  /** Rebuilds a state from `encodeSnapshot` bytes. Throws only `ControllerCodecError`, also for a
   * well-formed snapshot that breaks an invariant (two topics in one group, unknown brokers, ...). */
  static decodeSnapshot(bytes: Uint8Array): ControllerState {
    const value = parseVersionedJson(
      bytes,
      SNAPSHOT_FORMAT_VERSION,
      'snapshot',
      OLDEST_SNAPSHOT_FORMAT_VERSION,
    );
    // Version 1 lacks the fields version 2 added; they read as their defaults.
    const version1 = bytes[0] === OLDEST_SNAPSHOT_FORMAT_VERSION;
    const withPlacedByOperator = bytes[0]! >= PLACED_BY_OPERATOR_SNAPSHOT_VERSION;
    const snapshot = checkObject(value, '', [
      'clusterId',
      'nextGroupId',
      'nextProducerId',
      'brokers',
      'topics',
      'deletedTopicIds',
      'clusterConfigs',
      'brokerConfigOverrides',
    ]);
    const state = new ControllerState();
    state.clusterIdValue =
      snapshot.clusterId === null ? null : checkString(snapshot.clusterId, 'clusterId', 1, MAX_NAME_LENGTH);
    state.nextGroupIdValue = checkInteger(
      snapshot.nextGroupId,
      'nextGroupId',
      FIRST_PARTITION_GROUP_ID,
      MAX_GROUP_ID,
    );
    state.nextProducerIdValue = checkInteger(
      snapshot.nextProducerId,
      'nextProducerId',
      FIRST_PRODUCER_ID,
      Number.MAX_SAFE_INTEGER,
    );
    checkArray(snapshot.brokers, 'brokers', 0, MAX_BROKER_ID).forEach((item, index) => {
      const path = `brokers[${index}]`;
      const broker = checkObject(item, path, [
        'brokerId',
        'raft',
        'client',
        'rack',
        'incarnationId',
        'fenced',
        ...(version1 ? [] : ['decommissioning']),
      ]);
      const decommissioning = version1 ? false : broker.decommissioning;
      if (typeof decommissioning !== 'boolean')
        throw new ControllerCodecError(`${path}.decommissioning`, 'must be a boolean');
      const brokerId = checkBrokerId(broker.brokerId, `${path}.brokerId`);
      if (state.brokerById.has(brokerId))
        throw new ControllerCodecError(`${path}.brokerId`, 'is listed twice');
      if (typeof broker.fenced !== 'boolean')
        throw new ControllerCodecError(`${path}.fenced`, 'must be a boolean');
      state.setBroker({
        brokerId,
        raft: checkEndpoint(broker.raft, `${path}.raft`),
        client: checkEndpoint(broker.client, `${path}.client`),
        rack: broker.rack === null ? null : checkString(broker.rack, `${path}.rack`, 1, MAX_NAME_LENGTH),
        incarnationId: checkString(broker.incarnationId, `${path}.incarnationId`, 1, MAX_NAME_LENGTH),
        fenced: broker.fenced,
        decommissioning,
      });
    });
    checkArray(snapshot.topics, 'topics', 0, MAX_PARTITIONS_PER_RECORD).forEach((item, index) => {
      const path = `topics[${index}]`;
      const topic = checkObject(item, path, [
        'name',
        'topicId',
        'configs',
        'replicationFactor',
        'partitions',
      ]);
      const name = checkString(topic.name, `${path}.name`, 1, MAX_NAME_LENGTH);
      const nameProblem = topicNameProblem(name);
      if (nameProblem !== null) throw new ControllerCodecError(`${path}.name`, nameProblem);
      const topicId = checkTopicId(topic.topicId, `${path}.topicId`);
      if (state.topicIdByName.has(name) || state.topicsById.has(topicId)) {
        throw new ControllerCodecError(path, `topic ${name} (${topicId}) is listed twice`);
      }
      const partitions = checkArray(topic.partitions, `${path}.partitions`, 1, MAX_PARTITIONS_PER_RECORD).map(
        (entry, partition) => {
          const at = `${path}.partitions[${partition}]`;
          const fields = checkObject(entry, at, [
            'groupId',
            'replicas',
            'learners',
            'preferredLeader',
            'leader',
            'leaderEpoch',
            ...(version1 ? [] : ['targetReplicas']),
            ...(withPlacedByOperator ? ['placedByOperator'] : []),
          ]);
          if (withPlacedByOperator && typeof fields.placedByOperator !== 'boolean')
            throw new ControllerCodecError(`${at}.placedByOperator`, 'must be a boolean');
          const groupId = checkGroupId(fields.groupId, `${at}.groupId`);
          if (state.groupLocation.has(groupId))
            throw new ControllerCodecError(`${at}.groupId`, 'is used twice');
          state.groupLocation.set(groupId, { topicId, partition });
          return {
            topicId,
            topic: name,
            partition,
            groupId,
            replicas: checkBrokerList(fields.replicas, `${at}.replicas`, 1),
            learners: checkBrokerList(fields.learners, `${at}.learners`, 0),
            preferredLeader: checkBrokerId(fields.preferredLeader, `${at}.preferredLeader`),
            leader: checkInteger(fields.leader, `${at}.leader`, -1, MAX_BROKER_ID),
            leaderEpoch: checkInteger(fields.leaderEpoch, `${at}.leaderEpoch`, -1, MAX_LEADER_EPOCH),
            targetReplicas: version1 ? [] : checkBrokerList(fields.targetReplicas, `${at}.targetReplicas`, 0),
            placedByOperator: withPlacedByOperator && fields.placedByOperator === true,
          };
        },
      );
      state.setTopic({
        name,
        topicId,
        configs: freezeConfigs(checkPairs(topic.configs, `${path}.configs`)),
        replicationFactor: checkInteger(
          topic.replicationFactor,
          `${path}.replicationFactor`,
          1,
          MAX_REPLICAS,
        ),
        partitions,
      });
    });
    checkArray(snapshot.deletedTopicIds, 'deletedTopicIds', 0, Number.MAX_SAFE_INTEGER).forEach(
      (item, index) => {
        const topicId = checkTopicId(item, `deletedTopicIds[${index}]`);
        if (state.deletedTopics.has(topicId))
          throw new ControllerCodecError(`deletedTopicIds[${index}]`, 'is repeated');
        state.deletedTopics.add(topicId);
      },
    );
    state.clusterConfigs = freezeConfigs(checkPairs(snapshot.clusterConfigs, 'clusterConfigs'));
    checkArray(snapshot.brokerConfigOverrides, 'brokerConfigOverrides', 0, MAX_BROKER_ID).forEach(
      (item, index) => {
        const path = `brokerConfigOverrides[${index}]`;
        const entry = checkObject(item, path, ['brokerId', 'configs']);
        const brokerId = checkBrokerId(entry.brokerId, `${path}.brokerId`);
        const configs = checkPairs(entry.configs, `${path}.configs`);
        if (state.brokerConfigOverrides.has(brokerId) || configs.size === 0) {
          throw new ControllerCodecError(path, 'is listed twice or empty');
        }
        state.brokerConfigOverrides.set(brokerId, freezeConfigs(configs));
      },
    );
    const problem = state.invariantProblem();
    if (problem !== null) throw new ControllerCodecError('', `snapshot breaks an invariant: ${problem}`);
    return state;
  }
}

/** Config pairs `[[name, value], ...]` of a snapshot; names unique, bounded like a record's. */
function checkPairs(value: unknown, path: string): Map<string, string> {
  const configs = new Map<string, string>();
  checkArray(value, path, 0, MAX_CONFIGS_PER_RECORD).forEach((item, index) => {
    const at = `${path}[${index}]`;
    const [name, config] = checkArray(item, at, 2, 2);
    const checkedName = checkString(name, `${at}[0]`, 1, MAX_NAME_LENGTH);
    if (configs.has(checkedName))
      throw new ControllerCodecError(`${at}[0]`, `config ${checkedName} is repeated`);
    configs.set(checkedName, checkString(config, `${at}[1]`, 0, MAX_STRING_LENGTH));
  });
  return configs;
}
