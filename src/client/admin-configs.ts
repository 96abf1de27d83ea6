/**
 * Admin verbs that change configs: AlterConfigs (API 33, KIP-133: a resource's whole set of
 * dynamic configs) and IncrementalAlterConfigs (API 44, KIP-339: per-key set, delete, append,
 * subtract). Both in their non-flexible versions (AlterConfigs v1, IncrementalAlterConfigs v0).
 */
import { ApiKey } from '../protocol/index.js';
import {
  CONFIG_RESOURCE_TYPES,
  type ConfigResourceName,
  requireDistinct,
  requireList,
  requireResourceName,
  requireResourceType,
} from './admin-checks.js';
import type { CallOptions, Client } from './client.js';
import { GoqueueError, KafkaProtocolError } from './errors.js';
import { requireCallOptions, requireObject } from './validate.js';

/** The wire values of IncrementalAlterConfigs' `configOperation`. */
const OPERATIONS = { set: 0, delete: 1, append: 2, subtract: 3 } as const;

export type ConfigOperationName = keyof typeof OPERATIONS;

/** One change of `incrementalAlterConfigs`. */
export interface ConfigChange {
  name: string;
  /**
   * `set` gives the key `value`; `delete` removes the resource's own value (the inherited one
   * applies again); `append` / `subtract` add items to or remove items from a list config.
   */
  op: ConfigOperationName;
  /** Required except for `delete`. */
  value?: string | null;
}

interface ConfigResource extends CallOptions {
  type: ConfigResourceName;
  /** A topic name; for a broker, its id (number or string) or '' for every broker's default. */
  name: string | number;
  /** Have the broker check the change without applying it. */
  validateOnly?: boolean;
}

export interface AlterConfigsRequest extends ConfigResource {
  /** The resource's whole new set of dynamic configs: keys not named return to their defaults. */
  configs: Record<string, string>;
}

export interface IncrementalAlterConfigsRequest extends ConfigResource {
  changes: ConfigChange[];
}

/** The fields both requests share, checked; returns the resource's type and name. */
function checkResource(
  field: string,
  fields: Record<string, unknown>,
): { type: ConfigResourceName; name: string } {
  const type = requireResourceType(`${field}.type`, fields.type);
  const name = requireResourceName(`${field}.name`, type, fields.name);
  if (fields.validateOnly !== undefined && typeof fields.validateOnly !== 'boolean')
    throw new TypeError(
      `${field}.validateOnly must be a boolean, not ${JSON.stringify(fields.validateOnly)}`,
    );
  requireCallOptions(field, fields);
  return { type, name };
}

function checkAlterConfigs(request: unknown): { type: ConfigResourceName; name: string } {
  const field = 'admin.alterConfigs(request)';
  const fields = requireObject(field, request);
  const resource = checkResource(field, fields);
  const configs = requireObject(`${field}.configs`, fields.configs);
  for (const [key, value] of Object.entries(configs))
    if (typeof value !== 'string')
      throw new TypeError(`${field}.configs.${key} must be a string, not ${JSON.stringify(value)}`);
  return resource;
}

function checkIncrementalAlterConfigs(request: unknown): { type: ConfigResourceName; name: string } {
  const field = 'admin.incrementalAlterConfigs(request)';
  const fields = requireObject(field, request);
  const resource = checkResource(field, fields);
  const names = requireList(`${field}.changes`, fields.changes, (itemField, item) => {
    const change = requireObject(itemField, item);
    if (typeof change.name !== 'string' || change.name.length === 0)
      throw new TypeError(`${itemField}.name must be a non-empty string, not ${JSON.stringify(change.name)}`);
    if (typeof change.op !== 'string' || !(change.op in OPERATIONS))
      throw new TypeError(
        `${itemField}.op must be one of ${Object.keys(OPERATIONS).join(', ')}, not ${JSON.stringify(change.op)}`,
      );
    const needsValue = change.op !== 'delete';
    if (
      needsValue ? typeof change.value !== 'string' : change.value != null && typeof change.value !== 'string'
    )
      throw new TypeError(
        `${itemField}.value must be a string${needsValue ? ` for op "${change.op}"` : ' or left out'}, not ${JSON.stringify(change.value)}`,
      );
    return change.name;
  });
  requireDistinct(`${field}.changes`, names, 'config');
  return resource;
}

/**
 * Sends one config-altering request. A broker resource with an id goes to that broker (as
 * Kafka's clients do, so its next DescribeConfigs shows the change); anything else to any
 * broker, which forwards the change to the controller and answers once it is applied there.
 */
async function alterResource(
  client: Client,
  apiKey: ApiKey.AlterConfigs | ApiKey.IncrementalAlterConfigs,
  resource: { type: ConfigResourceName; name: string },
  configs: object[],
  request: ConfigResource,
): Promise<void> {
  await client.retrying(async () => {
    const connection =
      resource.type === 'broker' && resource.name !== ''
        ? await client.brokerConnection(Number(resource.name), request)
        : await client.anyConnection(request);
    const response = await client.send(
      connection,
      apiKey,
      {
        resources: [
          { resourceType: CONFIG_RESOURCE_TYPES[resource.type], resourceName: resource.name, configs },
        ],
        validateOnly: request.validateOnly ?? false,
      },
      request,
    );
    const result = response.responses?.[0];
    if (!result) throw new GoqueueError(`the broker answered ${ApiKey[apiKey]} without the resource`);
    if (result.errorCode)
      throw new KafkaProtocolError(result.errorCode, {
        // Fresh metadata cannot make a missing topic appear: do not retry it.
        retriable: result.errorCode === 3 ? false : undefined,
        ...(resource.type === 'topic' ? { topic: resource.name } : {}),
        detail: result.errorMessage ?? null,
      });
  }, request);
}

/** AlterConfigs: `configs` becomes the resource's whole set of dynamic configs. */
export async function alterConfigs(client: Client, request: AlterConfigsRequest): Promise<void> {
  const resource = checkAlterConfigs(request);
  const configs = Object.entries(request.configs).map(([name, value]) => ({ name, value }));
  return alterResource(client, ApiKey.AlterConfigs, resource, configs, request);
}

/** IncrementalAlterConfigs: each change applies to its key; keys not named keep their values. */
export async function incrementalAlterConfigs(
  client: Client,
  request: IncrementalAlterConfigsRequest,
): Promise<void> {
  const resource = checkIncrementalAlterConfigs(request);
  const configs = request.changes.map((change) => ({
    name: change.name,
    configOperation: OPERATIONS[change.op],
    value: change.op === 'delete' ? null : (change.value ?? null),
  }));
  return alterResource(client, ApiKey.IncrementalAlterConfigs, resource, configs, request);
}
