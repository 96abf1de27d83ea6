/**
 * The bytes a consumer group's members exchange through the coordinator: Kafka's
 * ConsumerProtocol subscription (JoinGroup member metadata) and assignment (SyncGroup), versions
 * 0-3. The coordinator never reads them; members of different clients (Java, librdkafka,
 * KafkaJS, this SDK) must, so the layout is exactly Kafka's:
 *
 *   Subscription: version int16, topics [string], userData nullable bytes,
 *                 v1+: ownedPartitions [topic string, partitions [int32]],
 *                 v2+: generationId int32, v3+: rackId nullable string
 *   Assignment:   version int16, assignedPartitions [topic string, partitions [int32]],
 *                 userData nullable bytes (the same in v0-v3)
 *
 * A reader takes any version: fields a newer writer appended are ignored (KafkaJS reads v0 only,
 * Java reads what it knows), and a field an older writer left out takes its default.
 */
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { GoqueueError } from './errors.js';

/** The protocol type every consumer group uses in JoinGroup. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';
/** The highest subscription/assignment version written and understood. */
export const CONSUMER_PROTOCOL_VERSION = 3;

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface Subscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  /** Partitions the member owned in `generationId` (v1+; empty for older writers). */
  ownedPartitions: TopicPartitions[];
  /** The generation the owned partitions are from (v2+; -1 when not known). */
  generationId: number;
  rackId: string | null;
}

export interface Assignment {
  version: number;
  partitions: TopicPartitions[];
  userData: Buffer | null;
}

function writeTopicPartitions(writer: Writer, list: TopicPartitions[]): void {
  writer.int32(list.length);
  for (const entry of list) {
    writer.string(entry.topic);
    writer.int32(entry.partitions.length);
    for (const partition of entry.partitions) writer.int32(partition);
  }
}

function readTopicPartitions(reader: Reader): TopicPartitions[] {
  return reader.array((r) => ({ topic: r.string(), partitions: r.array((p) => p.int32(), 4) }), 6);
}

export function encodeSubscription(
  subscription: Omit<Subscription, 'version'> & { version?: number },
): Buffer {
  const version = subscription.version ?? CONSUMER_PROTOCOL_VERSION;
  const writer = new Writer(64);
  writer.int16(version);
  writer.int32(subscription.topics.length);
  for (const topic of subscription.topics) writer.string(topic);
  writer.nullableBytes(subscription.userData);
  if (version >= 1) writeTopicPartitions(writer, subscription.ownedPartitions);
  if (version >= 2) writer.int32(subscription.generationId);
  if (version >= 3) writer.nullableString(subscription.rackId);
  return writer.finish();
}

/** Reads a member's subscription; a malformed one is a GoqueueError naming the member. */
export function decodeSubscription(bytes: Buffer, memberId = ''): Subscription {
  try {
    const reader = new Reader(bytes);
    const version = reader.int16();
    if (version < 0) reader.fail(`negative subscription version ${version}`);
    const topics = reader.array((r) => r.string(), 2);
    // v0 writers may end right after the topics (userData omitted entirely).
    const userData = reader.remaining > 0 ? reader.nullableBytes() : null;
    const ownedPartitions = version >= 1 && reader.remaining > 0 ? readTopicPartitions(reader) : [];
    const generationId = version >= 2 && reader.remaining >= 4 ? reader.int32() : -1;
    const rackId = version >= 3 && reader.remaining > 0 ? reader.nullableString() : null;
    return { version, topics, userData, ownedPartitions, generationId, rackId };
  } catch (error) {
    throw new GoqueueError(`member ${memberId} sent a subscription that is not Kafka's ConsumerProtocol`, {
      cause: error,
    });
  }
}

export function encodeAssignment(assignment: Omit<Assignment, 'version'> & { version?: number }): Buffer {
  const writer = new Writer(64);
  writer.int16(assignment.version ?? CONSUMER_PROTOCOL_VERSION);
  writeTopicPartitions(writer, assignment.partitions);
  writer.nullableBytes(assignment.userData);
  return writer.finish();
}

/** Reads an assignment; empty bytes (a member the leader gave nothing) is an empty assignment. */
export function decodeAssignment(bytes: Buffer): Assignment {
  if (bytes.length === 0) return { version: 0, partitions: [], userData: null };
  try {
    const reader = new Reader(bytes);
    const version = reader.int16();
    const partitions = readTopicPartitions(reader);
    const userData = reader.remaining > 0 ? reader.nullableBytes() : null;
    return { version, partitions, userData };
  } catch (error) {
    throw new GoqueueError("the group leader sent an assignment that is not Kafka's ConsumerProtocol", {
      cause: error,
    });
  }
}

/** "topic\0partition": a Map key for one partition (topic names cannot hold NUL). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function parsePartitionKey(key: string): { topic: string; partition: number } {
  const split = key.lastIndexOf('\u0000');
  return { topic: key.slice(0, split), partition: Number(key.slice(split + 1)) };
}

/** Groups partition keys by topic, topics and partitions sorted. */
export function toTopicPartitions(keys: Iterable<string>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const key of keys) {
    const { topic, partition } = parsePartitionKey(key);
    let list = byTopic.get(topic);
    if (list === undefined) {
      list = [];
      byTopic.set(topic, list);
    }
    list.push(partition);
  }
  return [...byTopic.keys()]
    .sort()
    .map((topic) => ({ topic, partitions: (byTopic.get(topic) as number[]).sort((a, b) => a - b) }));
}

export function fromTopicPartitions(list: TopicPartitions[]): string[] {
  return list.flatMap(({ topic, partitions }) =>
    partitions.map((partition) => partitionKey(topic, partition)),
  );
}
