import type { BrokerConfig } from '../config/types.js';
import type { ControllerState } from '../controller/index.js';
import {
  BROKER_KEYS_BY_NAME,
  brokerValues,
  ConfigSource,
  ConfigType,
  checkValue,
  type DynamicBrokerConfigs,
  NO_DYNAMIC_CONFIGS,
  type SourcedValue,
  type ValueRule,
} from './broker-configs.js';

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
  minInsyncReplicas: number;
}

/**
 * A topic config. A key with a `brokerKey` takes its default from that broker config (dynamic
 * broker values included); the others from `fallback`. `fixed` keys are set when the topic is
 * created and never altered: the storage sizes an open log by them, so a change would not take
 * effect until each replica reopened (and a larger value would let produce accept batches the
 * open log refuses).
 */
export interface TopicKey extends ValueRule {
  documentation: string;
  brokerKey?: string;
  fallback?: string;
  fixed?: boolean;
}

export const TOPIC_CONFIG_KEYS: readonly TopicKey[] = [
  {
    name: 'retention.ms',
    type: ConfigType.LONG,
    min: -1,
    brokerKey: 'log.retention.ms',
    documentation: 'Age after which whole old segments are deleted (-1: no time limit).',
  },
  {
    name: 'retention.bytes',
    type: ConfigType.LONG,
    min: -1,
    brokerKey: 'log.retention.bytes',
    documentation: 'Size per partition above which old segments are deleted (-1: no limit).',
  },
  {
    name: 'segment.bytes',
    type: ConfigType.INT,
    min: 1024,
    brokerKey: 'log.segment.bytes',
    fixed: true,
    documentation: "Size at which a partition's log rolls to a new segment (fixed at creation).",
  },
  {
    name: 'segment.ms',
    type: ConfigType.LONG,
    min: 1,
    brokerKey: 'log.roll.ms',
    fixed: true,
    documentation: "Age at which a partition's log rolls to a new segment (fixed at creation).",
  },
  {
    name: 'max.message.bytes',
    type: ConfigType.INT,
    min: 0,
    brokerKey: 'message.max.bytes',
    documentation: "Largest record batch the topic accepts (capped by the broker's max_message_size).",
  },
  {
    name: 'compression.type',
    type: ConfigType.STRING,
    values: ['producer', 'uncompressed', 'none', 'gzip', 'snappy', 'lz4', 'zstd'],
    brokerKey: 'compression.type',
    documentation: 'Codec batches are stored with (producer: as the producer sent them).',
  },
  {
    name: 'cleanup.policy',
    type: ConfigType.LIST,
    values: ['delete'],
    fallback: 'delete',
    documentation: 'What happens to old segments: delete (compaction is not offered).',
  },
  {
    name: 'message.timestamp.type',
    type: ConfigType.STRING,
    values: ['CreateTime'],
    fallback: 'CreateTime',
    documentation: "Record timestamps are the producer's (CreateTime).",
  },
  {
    name: 'min.insync.replicas',
    type: ConfigType.INT,
    min: 1,
    fallback: '1',
    documentation:
      'With acks=all, the replicas (voters) that must be in sync for a write to be accepted and that must hold it before it is acknowledged; NOT_ENOUGH_REPLICAS otherwise. A Raft majority holds every acknowledged write in any case.',
  },
];

export const TOPIC_KEYS_BY_NAME: ReadonlyMap<string, TopicKey> = new Map(
  TOPIC_CONFIG_KEYS.map((key) => [key.name, key]),
);

/** Returns a reason when `name=value` is not an acceptable topic config, else null. */
export function checkTopicConfig(name: string, value: string | null): string | null {
  const key = TOPIC_KEYS_BY_NAME.get(name);
  if (key === undefined) return `unknown topic config ${name}`;
  return checkValue(key, value);
}

/**
 * Every value topic key `key` has, highest precedence first (Kafka's synonyms): the topic's
 * override, then the broker key's values, or the built-in default. Never empty.
 */
export function topicValues(
  key: TopicKey,
  overrides: Readonly<Record<string, string>>,
  config: BrokerConfig,
  dynamic: DynamicBrokerConfigs,
): SourcedValue[] {
  const values: SourcedValue[] = [];
  const override = overrides[key.name];
  if (override !== undefined)
    values.push({ name: key.name, value: override, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
  const brokerKey = key.brokerKey === undefined ? undefined : BROKER_KEYS_BY_NAME.get(key.brokerKey);
  // A topic that inherits the broker's own config reports it as the default (source 5), as it
  // always has: whether the broker's file set the key or left it at its default is not known here.
  if (brokerKey !== undefined)
    for (const value of brokerValues(brokerKey, config, dynamic))
      values.push(
        value.source === ConfigSource.STATIC_BROKER_CONFIG
          ? { ...value, source: ConfigSource.DEFAULT_CONFIG }
          : value,
      );
  else values.push({ name: key.name, value: key.fallback!, source: ConfigSource.DEFAULT_CONFIG });
  return values;
}

/** Every topic config with its effective value and the values it overrides. */
export function describeTopicConfig(
  overrides: Readonly<Record<string, string>>,
  config: BrokerConfig,
  dynamic: DynamicBrokerConfigs = NO_DYNAMIC_CONFIGS,
): Array<{ key: TopicKey; values: SourcedValue[] }> {
  return TOPIC_CONFIG_KEYS.map((key) => ({ key, values: topicValues(key, overrides, config, dynamic) }));
}

/** The dynamic broker configs that apply on broker `brokerId`, from the controller state. */
export function dynamicBrokerConfigs(
  state: Pick<ControllerState, 'brokerConfigs' | 'ownBrokerConfigs'>,
  brokerId: number,
): DynamicBrokerConfigs {
  return { cluster: state.brokerConfigs(), broker: state.ownBrokerConfigs(brokerId) };
}

/**
 * The numbers a topic's partitions use: its overrides, else the broker defaults (`dynamic`: the
 * dynamic broker configs that apply on this broker, from the controller state).
 */
export function resolveTopicConfig(
  overrides: Readonly<Record<string, string>>,
  config: BrokerConfig,
  dynamic: DynamicBrokerConfigs = NO_DYNAMIC_CONFIGS,
): TopicConfig {
  const value = (name: string): string =>
    topicValues(TOPIC_KEYS_BY_NAME.get(name)!, overrides, config, dynamic)[0]!.value;
  return {
    retentionMs: Number(value('retention.ms')),
    retentionBytes: Number(value('retention.bytes')),
    segmentBytes: Number(value('segment.bytes')),
    segmentMs: Number(value('segment.ms')),
    maxMessageBytes: Number(value('max.message.bytes')),
    compressionType: value('compression.type'),
    cleanupPolicy: value('cleanup.policy'),
    minInsyncReplicas: Number(value('min.insync.replicas')),
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
