/**
 * The state of consumer groups as a replicated log: every partition of the internal topic
 * `__consumer_offsets` is a Raft group whose entries are records of this file (one record per
 * entry, in a RecordBatch v2 like any other entry). Every replica applies them, leader or not,
 * so a new leader (the group's new coordinator) already holds every committed offset and the
 * last generation of each group; its snapshots carry the whole state, so the log stays bounded.
 *
 * Record value layout (big-endian, the protocol's primitives), after a version byte (0) and a
 * kind byte:
 * - offsets (1): groupId, commitTimestampMs int64, count int32, then per offset: topic,
 *   partition int32, offset int64, leaderEpoch int32, metadata nullable string.
 * - group (2): groupId, generationId int32, protocolType, protocolName, leaderId, timestampMs
 *   int64, count int32, then per member: memberId, groupInstanceId nullable, clientId,
 *   clientHost, sessionTimeoutMs int32, rebalanceTimeoutMs int32, metadata bytes, assignment bytes.
 * - delete-group (3): groupId, timestampMs int64 (the group and its offsets go).
 * - delete-offsets (4): groupId, count int32, then per partition: topic, partition int32.
 * - expire-group (5): groupId, lastActivityMs int64: the group goes only if, where it applies,
 *   it still has no members and no newer activity (a commit that raced the expiry wins on
 *   every replica alike).
 */
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';

/** The internal topic holding consumer groups' state. */
export const GROUPS_TOPIC = '__consumer_offsets';

const FORMAT_VERSION = 0;

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestampMs: number;
}

export interface PersistedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** The member's metadata for the chosen protocol. */
  metadata: Buffer;
  assignment: Buffer;
}

/** A group's last formed generation (members empty when the group emptied). */
export interface PersistedGroup {
  generationId: number;
  protocolType: string;
  protocolName: string;
  leaderId: string;
  timestampMs: number;
  members: PersistedMember[];
}

export type GroupLogRecord =
  | {
      kind: 'offsets';
      groupId: string;
      commitTimestampMs: number;
      offsets: Array<{
        topic: string;
        partition: number;
        offset: number;
        leaderEpoch: number;
        metadata: string | null;
      }>;
    }
  | { kind: 'group'; groupId: string; group: PersistedGroup }
  | { kind: 'delete-group'; groupId: string; timestampMs: number }
  | { kind: 'delete-offsets'; groupId: string; partitions: Array<{ topic: string; partition: number }> }
  | { kind: 'expire-group'; groupId: string; lastActivityMs: number };

const KIND_CODE = {
  offsets: 1,
  group: 2,
  'delete-group': 3,
  'delete-offsets': 4,
  'expire-group': 5,
} as const;

export function encodeGroupRecord(record: GroupLogRecord): Buffer {
  const out = new Writer(256);
  out.int8(FORMAT_VERSION).int8(KIND_CODE[record.kind]).string(record.groupId);
  switch (record.kind) {
    case 'offsets':
      out.int64(record.commitTimestampMs).int32(record.offsets.length);
      for (const each of record.offsets)
        out
          .string(each.topic)
          .int32(each.partition)
          .int64(each.offset)
          .int32(each.leaderEpoch)
          .nullableString(each.metadata);
      break;
    case 'group': {
      const group = record.group;
      out
        .int32(group.generationId)
        .string(group.protocolType)
        .string(group.protocolName)
        .string(group.leaderId)
        .int64(group.timestampMs)
        .int32(group.members.length);
      for (const member of group.members)
        out
          .string(member.memberId)
          .nullableString(member.groupInstanceId)
          .string(member.clientId)
          .string(member.clientHost)
          .int32(member.sessionTimeoutMs)
          .int32(member.rebalanceTimeoutMs)
          .bytes(member.metadata)
          .bytes(member.assignment);
      break;
    }
    case 'delete-group':
      out.int64(record.timestampMs);
      break;
    case 'delete-offsets':
      out.int32(record.partitions.length);
      for (const each of record.partitions) out.string(each.topic).int32(each.partition);
      break;
    case 'expire-group':
      out.int64(record.lastActivityMs);
      break;
  }
  return out.finish();
}

/** Decodes one record; throws (a ProtocolError naming the field) on malformed bytes. */
export function decodeGroupRecord(bytes: Buffer): GroupLogRecord {
  const input = new Reader(bytes);
  const version = input.int8();
  if (version !== FORMAT_VERSION) input.fail(`group record format version ${version} is unknown`);
  const kind = input.int8();
  const groupId = input.string();
  const count = (what: string): number => {
    const n = input.int32();
    if (n < 0 || n > input.remaining) input.fail(`group record ${what} count ${n} is out of range`);
    return n;
  };
  switch (kind) {
    case KIND_CODE.offsets: {
      const commitTimestampMs = input.int64();
      const offsets = Array.from({ length: count('offset') }, () => ({
        topic: input.string(),
        partition: input.int32(),
        offset: input.int64(),
        leaderEpoch: input.int32(),
        metadata: input.nullableString(),
      }));
      return { kind: 'offsets', groupId, commitTimestampMs, offsets };
    }
    case KIND_CODE.group: {
      const generationId = input.int32();
      const protocolType = input.string();
      const protocolName = input.string();
      const leaderId = input.string();
      const timestampMs = input.int64();
      const members = Array.from({ length: count('member') }, () => ({
        memberId: input.string(),
        groupInstanceId: input.nullableString(),
        clientId: input.string(),
        clientHost: input.string(),
        sessionTimeoutMs: input.int32(),
        rebalanceTimeoutMs: input.int32(),
        metadata: Buffer.from(input.bytes()),
        assignment: Buffer.from(input.bytes()),
      }));
      return {
        kind: 'group',
        groupId,
        group: { generationId, protocolType, protocolName, leaderId, timestampMs, members },
      };
    }
    case KIND_CODE['delete-group']:
      return { kind: 'delete-group', groupId, timestampMs: input.int64() };
    case KIND_CODE['delete-offsets']:
      return {
        kind: 'delete-offsets',
        groupId,
        partitions: Array.from({ length: count('partition') }, () => ({
          topic: input.string(),
          partition: input.int32(),
        })),
      };
    case KIND_CODE['expire-group']:
      return { kind: 'expire-group', groupId, lastActivityMs: input.int64() };
    default:
      return input.fail(`group record kind ${kind} is unknown`);
  }
}

interface GroupEntry {
  offsets: Map<string, Map<number, CommittedOffset>>;
  group: PersistedGroup | null;
  /** Newest commit or generation time: a group without members expires this long after it. */
  lastActivityMs: number;
}

/**
 * The applied state of one `__consumer_offsets` partition: committed offsets and the last
 * generation of each of its groups. Pure: the records carry every timestamp it keeps.
 */
export class GroupLogState {
  private readonly groups = new Map<string, GroupEntry>();
  /** The last log index reflected here (0 before any). */
  appliedIndex = 0;

  apply(record: GroupLogRecord): void {
    switch (record.kind) {
      case 'offsets': {
        const entry = this.entry(record.groupId);
        for (const each of record.offsets) {
          let partitions = entry.offsets.get(each.topic);
          if (partitions === undefined) {
            partitions = new Map();
            entry.offsets.set(each.topic, partitions);
          }
          partitions.set(each.partition, {
            offset: each.offset,
            leaderEpoch: each.leaderEpoch,
            metadata: each.metadata,
            commitTimestampMs: record.commitTimestampMs,
          });
        }
        entry.lastActivityMs = Math.max(entry.lastActivityMs, record.commitTimestampMs);
        break;
      }
      case 'group': {
        const entry = this.entry(record.groupId);
        entry.group = record.group;
        entry.lastActivityMs = Math.max(entry.lastActivityMs, record.group.timestampMs);
        break;
      }
      case 'delete-group':
        this.groups.delete(record.groupId);
        break;
      case 'expire-group': {
        const entry = this.groups.get(record.groupId);
        const empty = entry?.group === null || entry?.group?.members.length === 0;
        if (entry !== undefined && empty && entry.lastActivityMs <= record.lastActivityMs)
          this.groups.delete(record.groupId);
        break;
      }
      case 'delete-offsets': {
        const entry = this.groups.get(record.groupId);
        if (entry === undefined) break;
        for (const { topic, partition } of record.partitions) {
          const partitions = entry.offsets.get(topic);
          partitions?.delete(partition);
          if (partitions?.size === 0) entry.offsets.delete(topic);
        }
        break;
      }
    }
  }

  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  has(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  offset(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groups.get(groupId)?.offsets.get(topic)?.get(partition);
  }

  /** Every committed offset of a group, by topic. */
  offsets(groupId: string): Array<{ topic: string; partitions: Array<[number, CommittedOffset]> }> {
    const entry = this.groups.get(groupId);
    if (entry === undefined) return [];
    return [...entry.offsets].map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
  }

  group(groupId: string): PersistedGroup | null {
    return this.groups.get(groupId)?.group ?? null;
  }

  /** Groups without members whose last activity is older than `retentionMs` before `nowMs`,
   * with that last activity (the expiry record carries it). */
  expired(nowMs: number, retentionMs: number): Array<{ groupId: string; lastActivityMs: number }> {
    const out: Array<{ groupId: string; lastActivityMs: number }> = [];
    for (const [groupId, entry] of this.groups) {
      const empty = entry.group === null || entry.group.members.length === 0;
      if (empty && entry.lastActivityMs + retentionMs <= nowMs)
        out.push({ groupId, lastActivityMs: entry.lastActivityMs });
    }
    return out;
  }

  /** Groups stored with members (a new coordinator loads them at once, so their sessions run). */
  groupsWithMembers(): string[] {
    const out: string[] = [];
    for (const [groupId, entry] of this.groups) if ((entry.group?.members.length ?? 0) > 0) out.push(groupId);
    return out;
  }

  /** The whole state as bytes: the applied index, then one record per group and its offsets. */
  encodeSnapshot(): Buffer {
    const records: Buffer[] = [];
    for (const [groupId, entry] of this.groups) {
      if (entry.group !== null)
        records.push(encodeGroupRecord({ kind: 'group', groupId, group: entry.group }));
      // Offsets grouped by commit time keep each offset's own timestamp.
      const byTime = new Map<number, Extract<GroupLogRecord, { kind: 'offsets' }>['offsets']>();
      for (const [topic, partitions] of entry.offsets)
        for (const [partition, value] of partitions) {
          let list = byTime.get(value.commitTimestampMs);
          if (list === undefined) {
            list = [];
            byTime.set(value.commitTimestampMs, list);
          }
          list.push({
            topic,
            partition,
            offset: value.offset,
            leaderEpoch: value.leaderEpoch,
            metadata: value.metadata,
          });
        }
      for (const [commitTimestampMs, offsets] of byTime)
        records.push(encodeGroupRecord({ kind: 'offsets', groupId, commitTimestampMs, offsets }));
    }
    const out = new Writer(1024).int64(this.appliedIndex).int32(records.length);
    for (const record of records) out.bytes(record);
    return out.finish();
  }

  static decodeSnapshot(bytes: Uint8Array): GroupLogState {
    const input = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const state = new GroupLogState();
    state.appliedIndex = input.int64();
    const count = input.int32();
    if (count < 0 || count > input.remaining)
      input.fail(`group snapshot record count ${count} is out of range`);
    for (let i = 0; i < count; i++) state.apply(decodeGroupRecord(Buffer.from(input.bytes())));
    return state;
  }

  private entry(groupId: string): GroupEntry {
    let entry = this.groups.get(groupId);
    if (entry === undefined) {
      entry = { offsets: new Map(), group: null, lastActivityMs: 0 };
      this.groups.set(groupId, entry);
    }
    return entry;
  }
}

/** Java's `String.hashCode`, so a group maps to the partition Kafka would pick for it. */
export function groupPartition(groupId: string, partitionCount: number): number {
  let hash = 0;
  for (let i = 0; i < groupId.length; i++) hash = (Math.imul(31, hash) + groupId.charCodeAt(i)) | 0;
  // Kafka's Utils.abs: Integer.MIN_VALUE maps to 0.
  const positive = hash === -2147483648 ? 0 : Math.abs(hash);
  return positive % partitionCount;
}
