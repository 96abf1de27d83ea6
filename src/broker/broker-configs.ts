import { FIELD_KEYS } from '../config/keys.js';
import type { BrokerConfig } from '../config/types.js';

/**
 * The configs a broker describes (DescribeConfigs) and lets clients alter (AlterConfigs,
 * IncrementalAlterConfigs) under Kafka's names, with Kafka's config types and sources. Topic
 * configs are in topic-config.ts; this file holds the broker's and what both share.
 */

/** Kafka's DescribeConfigs v3+ `configType`. */
export enum ConfigType {
  BOOLEAN = 1,
  STRING = 2,
  INT = 3,
  SHORT = 4,
  LONG = 5,
  DOUBLE = 6,
  LIST = 7,
  CLASS = 8,
  PASSWORD = 9,
}

/** Kafka's DescribeConfigs `configSource` (and a synonym's `source`). */
export enum ConfigSource {
  DYNAMIC_TOPIC_CONFIG = 1,
  DYNAMIC_BROKER_CONFIG = 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG = 3,
  STATIC_BROKER_CONFIG = 4,
  DEFAULT_CONFIG = 5,
}

/** What a value of a config must look like. */
export interface ValueRule {
  name: string;
  type: ConfigType;
  /** Allowed words (STRING), or allowed items (LIST), when closed. */
  values?: readonly string[];
  /** Smallest allowed number (INT, LONG). */
  min?: number;
}

const INT32_MAX = 2 ** 31 - 1;

/** Returns why `value` is not acceptable for `rule`, or null. */
export function checkValue(rule: ValueRule, value: string | null): string | null {
  const { name } = rule;
  if (value === null) return `${name} needs a value`;
  switch (rule.type) {
    case ConfigType.BOOLEAN:
      return value === 'true' || value === 'false' ? null : `${name} must be true or false; got ${value}`;
    case ConfigType.LIST: {
      const items = listItems(value);
      if (items.length === 0) return `${name} needs at least one item`;
      const wrong = items.find((item) => rule.values !== undefined && !rule.values.includes(item));
      return wrong === undefined
        ? null
        : `${name} items must be among ${rule.values!.join(', ')}; got ${wrong}`;
    }
    case ConfigType.INT:
    case ConfigType.LONG: {
      if (!/^-?\d+$/.test(value)) return `${name} must be an integer; got ${value}`;
      const number = Number(value);
      if (!Number.isSafeInteger(number)) return `${name} is out of range: ${value}`;
      if (rule.type === ConfigType.INT && number > INT32_MAX)
        return `${name} must fit in an int32; got ${value}`;
      if (rule.min !== undefined && number < rule.min) return `${name} must be >= ${rule.min}; got ${value}`;
      return null;
    }
    default:
      if (rule.values !== undefined && !rule.values.includes(value))
        return `${name} must be one of ${rule.values.join(', ')}; got ${value}`;
      return null;
  }
}

/** The items of a LIST value (Kafka's comma-separated form, blanks around items ignored). */
export function listItems(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * A broker config. `dynamic` keys may be altered through the controller, cluster-wide (resource
 * name '') or per broker, and take effect on every broker without a restart; every other key is
 * read-only, fixed by the broker's own config at start.
 */
export interface BrokerKey extends ValueRule {
  documentation: string;
  /** The key in goqueue's config file that sets it at start. */
  fileKey: string;
  staticValue(config: BrokerConfig): string;
  dynamic: boolean;
  /** Why a value is refused that passes the type check (dynamic keys), or null. */
  limit?(value: number, config: BrokerConfig): string | null;
}

export const BROKER_CONFIG_KEYS: readonly BrokerKey[] = [
  {
    name: 'broker.id',
    type: ConfigType.INT,
    documentation: "This broker's id in the cluster.",
    fileKey: FIELD_KEYS.brokerId,
    staticValue: (c) => String(c.brokerId),
    dynamic: false,
  },
  {
    name: 'log.dirs',
    type: ConfigType.STRING,
    documentation: "The directory holding this broker's logs and metadata.",
    fileKey: FIELD_KEYS.dataDir,
    staticValue: (c) => c.dataDir,
    dynamic: false,
  },
  {
    name: 'log.segment.bytes',
    type: ConfigType.INT,
    documentation: "Default size at which a partition's log rolls to a new segment file.",
    fileKey: FIELD_KEYS.segmentBytes,
    staticValue: (c) => String(c.segmentBytes),
    dynamic: false,
  },
  {
    name: 'log.roll.ms',
    type: ConfigType.LONG,
    documentation: "Default age at which a partition's log rolls to a new segment file.",
    fileKey: FIELD_KEYS.segmentMs,
    staticValue: (c) => String(c.segmentMs),
    dynamic: false,
  },
  {
    name: 'log.retention.ms',
    type: ConfigType.LONG,
    min: -1,
    documentation: 'Default age after which whole old segments are deleted (-1: no time limit).',
    fileKey: FIELD_KEYS.retentionMs,
    staticValue: (c) => String(c.retentionMs),
    dynamic: true,
  },
  {
    name: 'log.retention.bytes',
    type: ConfigType.LONG,
    min: -1,
    documentation: 'Default size per partition above which old segments are deleted (-1: no limit).',
    fileKey: FIELD_KEYS.retentionBytes,
    staticValue: (c) => String(c.retentionBytes),
    dynamic: true,
  },
  {
    name: 'log.retention.check.interval.ms',
    type: ConfigType.LONG,
    documentation: 'How often the retention sweep runs.',
    fileKey: FIELD_KEYS.cleanupIntervalMs,
    staticValue: (c) => String(c.cleanupIntervalMs),
    dynamic: false,
  },
  {
    name: 'log.flush.interval.ms',
    type: ConfigType.LONG,
    documentation: 'How often buffered appends are flushed when fsync is relaxed.',
    fileKey: FIELD_KEYS.flushIntervalMs,
    staticValue: (c) => String(c.flushIntervalMs),
    dynamic: false,
  },
  {
    name: 'message.max.bytes',
    type: ConfigType.INT,
    min: 0,
    documentation: "Default largest record batch a topic accepts (topics' max.message.bytes).",
    fileKey: FIELD_KEYS.maxMessageBytes,
    staticValue: (c) => String(c.maxMessageBytes),
    dynamic: true,
    // Requests and the storage are sized at start by max_message_size: above it, a batch is
    // refused whatever this says.
    limit: (value, config) =>
      value > config.maxMessageBytes
        ? `message.max.bytes cannot exceed ${config.maxMessageBytes}, the ${FIELD_KEYS.maxMessageBytes} this broker started with`
        : null,
  },
  {
    name: 'compression.type',
    type: ConfigType.STRING,
    documentation: 'Codec the broker stores batches with (producer: as the producer sent them).',
    fileKey: FIELD_KEYS.compressionType,
    staticValue: (c) => (c.compressionEnabled ? c.compressionType : 'producer'),
    dynamic: false,
  },
  {
    name: 'auto.create.topics.enable',
    type: ConfigType.BOOLEAN,
    documentation: 'Whether a Metadata or Produce request for an unknown topic creates it.',
    fileKey: FIELD_KEYS.autoCreateTopics,
    staticValue: (c) => String(c.autoCreateTopics),
    dynamic: false,
  },
  {
    name: 'num.partitions',
    type: ConfigType.INT,
    documentation: 'Partition count of a topic created without one.',
    fileKey: FIELD_KEYS.defaultPartitions,
    staticValue: (c) => String(c.defaultPartitions),
    dynamic: false,
  },
  {
    name: 'default.replication.factor',
    type: ConfigType.INT,
    documentation: 'Replication factor of a topic created without one.',
    fileKey: FIELD_KEYS.defaultReplicationFactor,
    staticValue: (c) => String(c.defaultReplicationFactor),
    dynamic: false,
  },
];

export const BROKER_KEYS_BY_NAME: ReadonlyMap<string, BrokerKey> = new Map(
  BROKER_CONFIG_KEYS.map((key) => [key.name, key]),
);

/**
 * The dynamic broker configs that apply on one broker, as the controller state holds them:
 * `cluster` (set on resource '') and `broker` (set on this broker's id; it wins).
 */
export interface DynamicBrokerConfigs {
  cluster: Readonly<Record<string, string>>;
  broker: Readonly<Record<string, string>>;
}

export const NO_DYNAMIC_CONFIGS: DynamicBrokerConfigs = { cluster: {}, broker: {} };

/** A value with where it comes from, highest precedence first (Kafka's synonyms). */
export interface SourcedValue {
  name: string;
  value: string;
  source: ConfigSource;
}

/** Every value broker key `key` has on this broker, highest precedence first; never empty. */
export function brokerValues(
  key: BrokerKey,
  config: BrokerConfig,
  dynamic: DynamicBrokerConfigs,
): SourcedValue[] {
  const values: SourcedValue[] = [];
  if (key.dynamic) {
    const own = dynamic.broker[key.name];
    if (own !== undefined)
      values.push({ name: key.name, value: own, source: ConfigSource.DYNAMIC_BROKER_CONFIG });
    const cluster = dynamic.cluster[key.name];
    if (cluster !== undefined)
      values.push({ name: key.name, value: cluster, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
  }
  values.push({ name: key.name, value: key.staticValue(config), source: ConfigSource.STATIC_BROKER_CONFIG });
  return values;
}

/** Why broker config `name` cannot be altered at all, or null. The error name is Kafka's:
 * INVALID_REQUEST for a key that is not dynamic, INVALID_CONFIG for an unknown key. */
export function brokerKeyProblem(
  name: string,
): { errorName: 'INVALID_CONFIG' | 'INVALID_REQUEST'; reason: string } | null {
  const key = BROKER_KEYS_BY_NAME.get(name);
  if (key === undefined) return { errorName: 'INVALID_CONFIG', reason: `unknown broker config ${name}` };
  if (!key.dynamic)
    return {
      errorName: 'INVALID_REQUEST',
      reason: `broker config ${name} is read-only: it is set at start by ${key.fileKey}`,
    };
  return null;
}

/** Why `value` is not acceptable for dynamic broker key `key` on this broker, or null. */
export function checkBrokerValue(key: BrokerKey, value: string | null, config: BrokerConfig): string | null {
  return checkValue(key, value) ?? key.limit?.(Number(value), config) ?? null;
}
