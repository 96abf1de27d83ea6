/**
 * Run-time checks shared by the Admin verbs of admin-configs.ts, admin-records.ts and
 * admin-reassignments.ts, in the manner of validate.ts: a TypeError naming the field. Also the
 * one way their per-partition results are listed.
 */
import { requirePartition } from './validate.js';

/** Resource types of the config APIs (Kafka's ConfigResource.Type). */
export const CONFIG_RESOURCE_TYPES = { topic: 2, broker: 4 } as const;

export type ConfigResourceName = keyof typeof CONFIG_RESOURCE_TYPES;

function shown(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

/** `type` of a config request: 'topic' or 'broker'. */
export function requireResourceType(field: string, value: unknown): ConfigResourceName {
  if (value !== 'topic' && value !== 'broker')
    throw new TypeError(`${field} must be "topic" or "broker", not ${shown(value)}`);
  return value;
}

/** A broker resource's name: '' (the cluster-wide default) or a broker id. */
export function requireResourceName(field: string, type: ConfigResourceName, value: unknown): string {
  if (type === 'broker') {
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string' || !/^(|0|[1-9][0-9]*)$/.test(text))
      throw new TypeError(
        `${field} must be a broker id or "" (every broker) for a broker resource, not ${shown(value)}`,
      );
    return text;
  }
  if (typeof value !== 'string' || value.length === 0)
    throw new TypeError(`${field} must be a non-empty topic name, not ${shown(value)}`);
  return value;
}

/** A non-empty array; each element is checked by `each` with its index in the field name. */
export function requireList<T>(
  field: string,
  value: unknown,
  each: (field: string, item: unknown) => T,
): T[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new TypeError(`${field} must be a non-empty array, not ${shown(value)}`);
  return value.map((item, index) => each(`${field}[${index}]`, item));
}

/** A list of partition indexes, each named once. */
export function requirePartitionList(field: string, value: unknown): number[] {
  const partitions = requireList(field, value, (itemField, item) => {
    requirePartition(itemField, item);
    return item as number;
  });
  requireDistinct(field, partitions.map(String), 'partition');
  return partitions;
}

/** Throws when a key appears twice (Kafka refuses such requests; say so before sending). */
export function requireDistinct(field: string, keys: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) throw new TypeError(`${field} names ${what} ${key} more than once`);
    seen.add(key);
  }
}

/** A broker id (Kafka node ids are non-negative int32). */
export function requireBrokerId(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0x7fffffff)
    throw new TypeError(`${field} must be a broker id (a non-negative integer), not ${shown(value)}`);
  return value;
}

/**
 * Kafka's per-topic answer lists (`[{ topic, partitions: [...] }]`) as one row per partition,
 * sorted by topic name, then partition.
 */
export function partitionRows<Topic, Partition, Row extends { topic: string; partition: number }>(
  topics: readonly Topic[],
  partitionsOf: (topic: Topic) => readonly Partition[],
  row: (topic: Topic, partition: Partition) => Row,
): Row[] {
  return topics
    .flatMap((topic) => partitionsOf(topic).map((partition) => row(topic, partition)))
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}
