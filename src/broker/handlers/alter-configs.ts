/**
 * AlterConfigs (33, KIP-133) and IncrementalAlterConfigs (44, KIP-339) for topics and brokers.
 *
 * A resource's change is checked here against this broker's applied metadata, then proposed to
 * the controller as one `alter-configs` record (forwarded when this broker does not lead the
 * controller) and answered once the record is applied here, so the broker's next DescribeConfigs
 * already shows it. Every broker applies the same record: topic overrides and dynamic broker
 * configs are read from the controller state, so they survive restarts and failover and take
 * effect on every replica (retention sweep, produce limits).
 *
 * Each resource is answered on its own; a bad entry leaves its whole resource unchanged.
 */

import { MAX_BROKER_ID } from '../../controller/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/index.js';
import {
  BROKER_CONFIG_KEYS,
  BROKER_KEYS_BY_NAME,
  brokerKeyProblem,
  ConfigType,
  checkBrokerValue,
  listItems,
} from '../broker-configs.js';
import type { BrokerContext, Handler, RequestContext } from '../context.js';
import { ControllerError } from '../controller.js';
import { RpcError } from '../controller-rpc.js';
import { checkTopicConfig, TOPIC_CONFIG_KEYS, TOPIC_KEYS_BY_NAME, topicValues } from '../topic-config.js';
import { dynamicConfigsHere, RESOURCE_BROKER, RESOURCE_TOPIC } from './describe-configs.js';

/** IncrementalAlterConfigs `configOperation` values. */
export enum ConfigOperation {
  SET = 0,
  DELETE = 1,
  APPEND = 2,
  SUBTRACT = 3,
}

/** How long a change may wait for the controller before the resource is answered with a timeout. */
const CONTROLLER_TIMEOUT_MS = 30_000;

interface Change {
  name: string;
  operation: number;
  value: string | null;
}

interface ResourceRequest<Entry> {
  resourceType: number;
  resourceName: string;
  configs: Entry[];
}

interface AlterConfigsRequest {
  resources: Array<ResourceRequest<{ name: string; value: string | null }>>;
  validateOnly: boolean;
}

interface IncrementalAlterConfigsRequest {
  resources: Array<ResourceRequest<{ name: string; configOperation: number; value: string | null }>>;
  validateOnly: boolean;
}

/**
 * Kafka's replication throttle configs (broker rates, topic replica lists). goqueue has no
 * throttles: a delete is accepted as the no-op it is, a set refused.
 */
const REPLICATION_THROTTLE_KEYS: ReadonlySet<string> = new Set([
  'leader.replication.throttled.rate',
  'follower.replication.throttled.rate',
  'replica.alter.log.dirs.io.max.bytes.per.second',
  'leader.replication.throttled.replicas',
  'follower.replication.throttled.replicas',
]);

/** A resource refused before anything was proposed. */
class Refusal extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** What to propose for one resource: the record's configs (null deletes a key). */
interface Plan {
  resource: 'topic' | 'broker';
  name: string;
  configs: Record<string, string | null>;
}

/** The rules one resource's keys follow (topic or broker). */
interface Catalogue {
  /** The resource's dynamic configs now. */
  current: Readonly<Record<string, string>>;
  /** Why key `name` cannot be altered at all (unknown, read-only), or null. */
  keyProblem(name: string): Refusal | null;
  /** Why `value` is not acceptable for known key `name`, or null. */
  valueProblem(name: string, value: string | null): string | null;
  /** The key's Kafka type (known keys only). */
  typeOf(name: string): ConfigType;
  /** The value APPEND/SUBTRACT start from when the resource has none of its own. */
  inherited(name: string): string;
  /** Keys a whole replacement (AlterConfigs) clears when not given. */
  alterable: readonly string[];
  /** Why no change may touch key `name`, or null. */
  fixed(name: string): string | null;
}

function topicCatalogue(broker: BrokerContext, name: string): Catalogue {
  const topic = broker.topics.get(name);
  if (topic === undefined) throw new Refusal(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no topic ${name}`);
  const dynamic = dynamicConfigsHere(broker);
  return {
    current: topic.record.configs,
    keyProblem: (key) =>
      TOPIC_KEYS_BY_NAME.has(key)
        ? null
        : new Refusal(ErrorCode.INVALID_CONFIG, `unknown topic config ${key}`),
    valueProblem: (key, value) => checkTopicConfig(key, value),
    typeOf: (key) => TOPIC_KEYS_BY_NAME.get(key)!.type,
    // Kafka's rule: a list without a value of its own starts from the value it inherits.
    inherited: (key) => topicValues(TOPIC_KEYS_BY_NAME.get(key)!, {}, broker.config, dynamic)[0]!.value,
    alterable: TOPIC_CONFIG_KEYS.filter((key) => key.fixed !== true).map((key) => key.name),
    fixed: (key) =>
      TOPIC_KEYS_BY_NAME.get(key)?.fixed === true
        ? `${key} is fixed when a topic is created (its open logs are sized by it)`
        : null,
  };
}

function brokerCatalogue(broker: BrokerContext, name: string): Catalogue {
  if (name !== '' && (!/^(0|[1-9][0-9]{0,9})$/.test(name) || Number(name) > MAX_BROKER_ID))
    throw new Refusal(
      ErrorCode.INVALID_REQUEST,
      `a broker resource is '' (every broker) or a broker id; got ${name}`,
    );
  const state = broker.controller.state;
  return {
    current: name === '' ? state.brokerConfigs() : state.ownBrokerConfigs(Number(name)),
    keyProblem: (key) => {
      const problem = brokerKeyProblem(key);
      return problem === null ? null : new Refusal(ErrorCode[problem.errorName], problem.reason);
    },
    valueProblem: (key, value) => checkBrokerValue(BROKER_KEYS_BY_NAME.get(key)!, value, broker.config),
    typeOf: (key) => BROKER_KEYS_BY_NAME.get(key)!.type,
    inherited: (key) => BROKER_KEYS_BY_NAME.get(key)!.staticValue(broker.config),
    alterable: BROKER_CONFIG_KEYS.filter((key) => key.dynamic).map((key) => key.name),
    fixed: () => null,
  };
}

/**
 * Checks `changes` against `catalogue` and returns the record's configs. `replace`: the changes
 * are the resource's whole new set (AlterConfigs), so every alterable key not given is cleared
 * (named in the record, so the record replaces whatever the controller holds by then);
 * otherwise only the keys named change, and concurrent changes of other keys are kept.
 */
function planChanges(
  catalogue: Catalogue,
  changes: readonly Change[],
  replace: boolean,
): Record<string, string | null> {
  const named = new Set<string>();
  for (const change of changes) {
    if (named.has(change.name))
      throw new Refusal(ErrorCode.INVALID_REQUEST, `config ${change.name} is named twice`);
    named.add(change.name);
  }
  const next = new Map<string, string>(replace ? [] : Object.entries(catalogue.current));
  for (const { name, operation, value } of changes) {
    if (ConfigOperation[operation] === undefined)
      throw new Refusal(ErrorCode.INVALID_REQUEST, `config ${name}: unknown operation ${operation}`);
    if (REPLICATION_THROTTLE_KEYS.has(name)) {
      // Nothing here ever holds a throttle, so deleting one changes nothing (kafka-reassign-partitions
      // --verify always clears them); setting one would be a promise goqueue does not keep.
      if (operation !== ConfigOperation.DELETE)
        throw new Refusal(
          ErrorCode.INVALID_CONFIG,
          `${name}: replication throttles are not supported; replica moves are bounded by max_replica_moves instead`,
        );
      named.delete(name);
      continue;
    }
    const keyProblem = catalogue.keyProblem(name);
    if (keyProblem !== null) throw keyProblem;
    let result: string | null;
    if (operation === ConfigOperation.SET) result = value;
    else if (operation === ConfigOperation.DELETE) result = null;
    else {
      const verb = ConfigOperation[operation];
      if (catalogue.typeOf(name) !== ConfigType.LIST)
        throw new Refusal(
          ErrorCode.INVALID_CONFIG,
          `${name} is not a list: ${verb} applies only to list configs`,
        );
      if (value === null) throw new Refusal(ErrorCode.INVALID_CONFIG, `${verb} ${name} needs a value`);
      const items = listItems(next.get(name) ?? catalogue.inherited(name));
      const given = listItems(value);
      result = (
        operation === ConfigOperation.APPEND
          ? [...items, ...given.filter((item) => !items.includes(item))]
          : items.filter((item) => !given.includes(item))
      ).join(',');
    }
    if (result === null) next.delete(name);
    else {
      const problem = catalogue.valueProblem(name, result);
      if (problem !== null) throw new Refusal(ErrorCode.INVALID_CONFIG, problem);
      next.set(name, result);
    }
  }
  const configs: Record<string, string | null> = {};
  const touched = replace
    ? new Set([...catalogue.alterable, ...Object.keys(catalogue.current), ...next.keys()])
    : named;
  for (const name of touched) {
    const before = catalogue.current[name];
    const after = next.get(name);
    const fixed = catalogue.fixed(name);
    if (fixed === null) configs[name] = after ?? null;
    else if (before !== after)
      throw new Refusal(
        ErrorCode.INVALID_CONFIG,
        `${fixed}: it stays ${before === undefined ? 'unset' : before}` +
          (replace && after === undefined
            ? ' (AlterConfigs replaces every config: give it again, or use IncrementalAlterConfigs)'
            : ''),
      );
  }
  return configs;
}

function planResource(broker: BrokerContext, resource: ResourceRequest<Change>, replace: boolean): Plan {
  if (resource.resourceType === RESOURCE_TOPIC) {
    const catalogue = topicCatalogue(broker, resource.resourceName);
    return {
      resource: 'topic',
      name: resource.resourceName,
      configs: planChanges(catalogue, resource.configs, replace),
    };
  }
  if (resource.resourceType === RESOURCE_BROKER) {
    const catalogue = brokerCatalogue(broker, resource.resourceName);
    return {
      resource: 'broker',
      name: resource.resourceName,
      configs: planChanges(catalogue, resource.configs, replace),
    };
  }
  throw new Refusal(
    ErrorCode.INVALID_REQUEST,
    `resource type ${resource.resourceType} has no alterable configs here`,
  );
}

/** The Kafka error of a failed controller command (a ControllerError here, or an RpcError
 * carrying the leader's error name when forwarded). */
function controllerErrorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  if (
    (error instanceof ControllerError || error instanceof RpcError) &&
    typeof code === 'string' &&
    code in ErrorCode
  )
    return (ErrorCode as Record<string, number>)[code];
  return undefined;
}

async function alterResources(
  request: { resources: Array<ResourceRequest<Change>>; validateOnly: boolean },
  replace: boolean,
  { broker, logger }: RequestContext,
) {
  const counts = new Map<string, number>();
  const keyOf = (resource: ResourceRequest<Change>) => `${resource.resourceType}:${resource.resourceName}`;
  for (const resource of request.resources)
    counts.set(keyOf(resource), (counts.get(keyOf(resource)) ?? 0) + 1);
  const responses = [];
  for (const resource of request.resources) {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
    try {
      if (counts.get(keyOf(resource))! > 1)
        throw new Refusal(
          ErrorCode.INVALID_REQUEST,
          `resource ${resource.resourceName} is named more than once`,
        );
      const plan = planResource(broker, resource, replace);
      if (!request.validateOnly && Object.keys(plan.configs).length > 0) {
        await broker.controller.execute({ op: 'alter-configs', ...plan }, CONTROLLER_TIMEOUT_MS);
        // The topics' view (effective configs) is rebuilt from the applied state.
        await broker.topics.reconciled();
        logger.info({ resource: plan.resource, name: plan.name, configs: plan.configs }, 'configs altered');
      }
      responses.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null });
    } catch (error) {
      if (error instanceof Refusal) {
        responses.push({ ...base, errorCode: error.errorCode, errorMessage: error.message });
        continue;
      }
      const errorCode = controllerErrorCode(error);
      if (errorCode === undefined) logger.error({ err: error, ...base }, 'altering configs failed');
      responses.push({
        ...base,
        errorCode: errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
        errorMessage: (error as Error).message,
      });
    }
  }
  return { throttleTimeMs: 0, responses };
}

function errorResponse(request: { resources: Array<ResourceRequest<unknown>> }, errorCode: number) {
  return {
    throttleTimeMs: 0,
    responses: request.resources.map((resource) => ({
      errorCode,
      errorMessage: null,
      resourceType: resource.resourceType,
      resourceName: resource.resourceName,
    })),
  };
}

/** AlterConfigs: each resource's given configs become its whole set of dynamic configs. */
export const alterConfigsHandler: Handler = {
  apiKey: ApiKey.AlterConfigs,
  handle: (request: AlterConfigsRequest, context) =>
    alterResources(
      {
        validateOnly: request.validateOnly,
        resources: request.resources.map((resource) => ({
          ...resource,
          configs: resource.configs.map(({ name, value }) => ({
            name,
            value,
            operation: ConfigOperation.SET,
          })),
        })),
      },
      true,
      context,
    ),
  errorResponse,
};

/** IncrementalAlterConfigs: SET, DELETE, APPEND or SUBTRACT per key; other keys keep their values. */
export const incrementalAlterConfigsHandler: Handler = {
  apiKey: ApiKey.IncrementalAlterConfigs,
  handle: (request: IncrementalAlterConfigsRequest, context) =>
    alterResources(
      {
        validateOnly: request.validateOnly,
        resources: request.resources.map((resource) => ({
          ...resource,
          configs: resource.configs.map(({ name, configOperation, value }) => ({
            name,
            operation: configOperation,
            value,
          })),
        })),
      },
      false,
      context,
    ),
  errorResponse,
};
