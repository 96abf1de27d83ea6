import type { BrokerConfig } from '../config/types.js';

/**
 * Topic-level configs the broker understands, with Kafka's names. Values are strings on the wire
 * (CreateTopics, DescribeConfigs); `resolveTopicConfig` turns overrides + broker defaults into
 * numbers the partitions use.
 */
export interface TopicConfig {
  retentionMs: number;
  retentionBytes: number;
  segmentBytes: number;
  segmentMs: number;
  maxMessageBytes: number;
  compressionType: string;
  cleanupPolicy: string;
}

interface ConfigKey {
  name: string;
  kind: 'long' | 'int' | 'string';
  /** Allowed string values, when closed. */
  values?: readonly string[];
  /** Smallest allowed number. */
  min?: number;
  fromBroker(config: BrokerConfig): string;
}

export const TOPIC_CONFIG_KEYS: readonly ConfigKey[] = [
  { name: 'retention.ms', kind: 'long', min: -1, fromBroker: (c) => String(c.retentionMs) },
  { name: 'retention.bytes', kind: 'long', min: -1, fromBroker: (c) => String(c.retentionBytes) },
  { name: 'segment.bytes', kind: 'int', min: 1024, fromBroker: (c) => String(c.segmentBytes) },
  { name: 'segment.ms', kind: 'long', min: 1, fromBroker: (c) => String(c.segmentMs) },
  { name: 'max.message.bytes', kind: 'int', min: 0, fromBroker: (c) => String(c.maxMessageBytes) },
  {
    name: 'compression.type',
    kind: 'string',
    values: ['producer', 'uncompressed', 'none', 'gzip', 'snappy', 'lz4', 'zstd'],
    fromBroker: (c) => (c.compressionEnabled ? c.compressionType : 'producer'),
  },
  { name: 'cleanup.policy', kind: 'string', values: ['delete'], fromBroker: () => 'delete' },
  {
    name: 'message.timestamp.type',
    kind: 'string',
    values: ['CreateTime'],
    fromBroker: () => 'CreateTime',
  },
  { name: 'min.insync.replicas', kind: 'int', min: 1, fromBroker: () => '1' },
];

const KEYS_BY_NAME = new Map(TOPIC_CONFIG_KEYS.map((key) => [key.name, key]));

/** Returns a reason when `name=value` is not an acceptable topic config, else null. */
export function checkTopicConfig(name: string, value: string | null): string | null {
  const key = KEYS_BY_NAME.get(name);
  if (key === undefined) return `unknown topic config ${name}`;
  if (value === null) return `topic config ${name} needs a value`;
  if (key.kind === 'string') {
    if (key.values !== undefined && !key.values.includes(value)) {
      return `${name} must be one of ${key.values.join(', ')}; got ${value}`;
    }
    return null;
  }
  if (!/^-?\d+$/.test(value)) return `${name} must be an integer; got ${value}`;
  const number = Number(value);
  if (!Number.isSafeInteger(number)) return `${name} is out of range: ${value}`;
  if (key.kind === 'int' && number > 2 ** 31 - 1) return `${name} must fit in an int32; got ${value}`;
  if (key.min !== undefined && number < key.min) return `${name} must be >= ${key.min}; got ${value}`;
  return null;
}

/** Every topic config with its effective value and whether it is the broker default. */
export function describeTopicConfig(
  overrides: Record<string, string>,
  broker: BrokerConfig,
): Array<{ name: string; value: string; isDefault: boolean }> {
  return TOPIC_CONFIG_KEYS.map((key) => {
    const override = overrides[key.name];
    return override === undefined
      ? { name: key.name, value: key.fromBroker(broker), isDefault: true }
      : { name: key.name, value: override, isDefault: false };
  });
}

export function resolveTopicConfig(overrides: Record<string, string>, broker: BrokerConfig): TopicConfig {
  const value = (name: string): string => {
    const override = overrides[name];
    return override ?? KEYS_BY_NAME.get(name)!.fromBroker(broker);
  };
  return {
    retentionMs: Number(value('retention.ms')),
    retentionBytes: Number(value('retention.bytes')),
    segmentBytes: Number(value('segment.bytes')),
    segmentMs: Number(value('segment.ms')),
    maxMessageBytes: Number(value('max.message.bytes')),
    compressionType: value('compression.type'),
    cleanupPolicy: value('cleanup.policy'),
  };
}

const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;
export const MAX_TOPIC_NAME_LENGTH = 249;

/** Kafka's topic name rules; returns the reason a name is invalid, or null. */
export function checkTopicName(name: string | null): string | null {
  if (name === null || name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `topic name is longer than ${MAX_TOPIC_NAME_LENGTH} characters`;
  }
  if (!LEGAL_TOPIC_NAME.test(name)) {
    return `topic name ${JSON.stringify(name)} may only hold ASCII letters, digits, '.', '_' and '-'`;
  }
  return null;
}
