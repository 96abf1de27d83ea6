import { ApiKey, ErrorCode } from '../../protocol/index.js';
import {
  BROKER_CONFIG_KEYS,
  brokerValues,
  ConfigSource,
  type DynamicBrokerConfigs,
  type SourcedValue,
  type ValueRule,
} from '../broker-configs.js';
import type { BrokerContext, Handler } from '../context.js';
import { describeTopicConfig, dynamicBrokerConfigs } from '../topic-config.js';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

interface DescribeConfigsRequest {
  resources: Array<{ resourceType: number; resourceName: string; configurationKeys: string[] | null }>;
  includeSynonyms?: boolean;
  includeDocumentation?: boolean;
}

interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: Array<{ name: string; value: string | null; source: number }>;
  configType: number;
  documentation: string | null;
}

/** The dynamic broker configs that apply on this broker, from its applied controller state. */
export function dynamicConfigsHere(broker: BrokerContext): DynamicBrokerConfigs {
  return dynamicBrokerConfigs(broker.controller.state, broker.brokerId);
}

/** One config as DescribeConfigs answers it: the first of `values` (precedence order) is the
 * effective one; the rest are its synonyms (asked for with includeSynonyms). */
function entryOf(
  key: ValueRule & { documentation: string },
  values: SourcedValue[],
  readOnly: boolean,
  request: DescribeConfigsRequest,
): ConfigEntry {
  const effective = values[0]!;
  return {
    name: key.name,
    value: effective.value,
    readOnly,
    isDefault: effective.source === ConfigSource.DEFAULT_CONFIG,
    configSource: effective.source,
    isSensitive: false,
    synonyms: request.includeSynonyms === true ? values : [],
    configType: key.type,
    documentation: request.includeDocumentation === true ? key.documentation : null,
  };
}

function describeResource(
  broker: BrokerContext,
  resource: DescribeConfigsRequest['resources'][number],
  request: DescribeConfigsRequest,
) {
  const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
  const failed = (errorCode: number, errorMessage: string) => ({
    ...base,
    errorCode,
    errorMessage,
    configs: [],
  });
  let entries: ConfigEntry[];
  if (resource.resourceType === RESOURCE_TOPIC) {
    const topic = broker.topics.get(resource.resourceName);
    if (topic === undefined)
      return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no topic ${resource.resourceName}`);
    entries = describeTopicConfig(topic.record.configs, broker.config, dynamicConfigsHere(broker)).map(
      ({ key, values }) => entryOf(key, values, key.fixed === true, request),
    );
  } else if (resource.resourceType === RESOURCE_BROKER) {
    if (resource.resourceName === '') {
      // Kafka's cluster-wide default resource: the dynamic values set on it, nothing else.
      const cluster = broker.controller.state.brokerConfigs();
      entries = BROKER_CONFIG_KEYS.filter((key) => cluster[key.name] !== undefined).map((key) =>
        entryOf(
          key,
          [{ name: key.name, value: cluster[key.name]!, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG }],
          false,
          request,
        ),
      );
    } else if (resource.resourceName !== String(broker.brokerId)) {
      return failed(
        ErrorCode.INVALID_REQUEST,
        `this is broker ${broker.brokerId}, not ${resource.resourceName}`,
      );
    } else {
      const dynamic = dynamicConfigsHere(broker);
      entries = BROKER_CONFIG_KEYS.map((key) =>
        entryOf(key, brokerValues(key, broker.config, dynamic), !key.dynamic, request),
      );
    }
  } else {
    return failed(ErrorCode.INVALID_REQUEST, `resource type ${resource.resourceType} has no configs here`);
  }
  const keys = resource.configurationKeys;
  const configs = keys === null || keys.length === 0 ? entries : entries.filter((e) => keys.includes(e.name));
  return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
}

/**
 * DescribeConfigs for topics (effective values, each with its source: a topic override, a
 * dynamic broker value, the broker's own config or the built-in default) and for this broker.
 */
export const describeConfigsHandler: Handler = {
  apiKey: ApiKey.DescribeConfigs,
  handle: (request: DescribeConfigsRequest, { broker }) => ({
    throttleTimeMs: 0,
    results: request.resources.map((resource) => describeResource(broker, resource, request)),
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
