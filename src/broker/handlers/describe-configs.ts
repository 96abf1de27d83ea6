import type { BrokerConfig } from '../../config/types.js';
import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { BrokerContext, Handler } from '../context.js';
import { describeTopicConfig } from '../topic-config.js';

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const SOURCE_TOPIC_OVERRIDE = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;

interface DescribeConfigsRequest {
  resources: Array<{ resourceType: number; resourceName: string; configurationKeys: string[] | null }>;
  includeSynonyms?: boolean;
}

interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: never[];
}

/** Broker configs under Kafka's names, read-only (set at start from the broker's config). */
function brokerEntries(config: BrokerConfig, brokerId: number): ConfigEntry[] {
  const values: Array<[string, string]> = [
    ['broker.id', String(brokerId)],
    ['log.dirs', config.dataDir],
    ['log.segment.bytes', String(config.segmentBytes)],
    ['log.roll.ms', String(config.segmentMs)],
    ['log.retention.ms', String(config.retentionMs)],
    ['log.retention.bytes', String(config.retentionBytes)],
    ['log.retention.check.interval.ms', String(config.cleanupIntervalMs)],
    ['log.flush.interval.ms', String(config.flushIntervalMs)],
    ['message.max.bytes', String(config.maxMessageBytes)],
    ['compression.type', config.compressionEnabled ? config.compressionType : 'producer'],
    ['auto.create.topics.enable', String(config.autoCreateTopics)],
    ['num.partitions', String(config.defaultPartitions)],
    ['default.replication.factor', String(config.defaultReplicationFactor)],
  ];
  return values.map(([name, value]) => ({
    name,
    value,
    readOnly: true,
    isDefault: false,
    configSource: SOURCE_STATIC_BROKER,
    isSensitive: false,
    synonyms: [],
  }));
}

function describeResource(broker: BrokerContext, resource: DescribeConfigsRequest['resources'][number]) {
  const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
  let entries: ConfigEntry[];
  if (resource.resourceType === RESOURCE_TOPIC) {
    const topic = broker.topics.get(resource.resourceName);
    if (topic === undefined) {
      return {
        ...base,
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: `no topic ${resource.resourceName}`,
        configs: [],
      };
    }
    entries = describeTopicConfig(topic.record.configs, broker.config).map((entry) => ({
      name: entry.name,
      value: entry.value,
      readOnly: false,
      isDefault: entry.isDefault,
      configSource: entry.isDefault ? SOURCE_DEFAULT : SOURCE_TOPIC_OVERRIDE,
      isSensitive: false,
      synonyms: [],
    }));
  } else if (resource.resourceType === RESOURCE_BROKER) {
    if (resource.resourceName !== '' && resource.resourceName !== String(broker.brokerId)) {
      return {
        ...base,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `this is broker ${broker.brokerId}, not ${resource.resourceName}`,
        configs: [],
      };
    }
    entries = brokerEntries(broker.config, broker.brokerId);
  } else {
    return {
      ...base,
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: `resource type ${resource.resourceType} has no configs here`,
      configs: [],
    };
  }
  const keys = resource.configurationKeys;
  const configs = keys === null || keys.length === 0 ? entries : entries.filter((e) => keys.includes(e.name));
  return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
}

/** DescribeConfigs for topics (effective values, overrides marked) and for this broker. */
export const describeConfigsHandler: Handler = {
  apiKey: ApiKey.DescribeConfigs,
  handle: (request: DescribeConfigsRequest, { broker }) => ({
    throttleTimeMs: 0,
    results: request.resources.map((resource) => describeResource(broker, resource)),
  }),
  errorResponse: (request: DescribeConfigsRequest, errorCode) => ({
    throttleTimeMs: 0,
    results: request.resources.map((resource) => ({
      errorCode,
      errorMessage: null,
      resourceType: resource.resourceType,
      resourceName: resource.resourceName,
      configs: [],
    })),
  }),
};
