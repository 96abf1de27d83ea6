import { ApiKey, ErrorCode } from '../protocol/index.js';
import {
  type AlterConfigsRequest,
  alterConfigs,
  type IncrementalAlterConfigsRequest,
  incrementalAlterConfigs,
} from './admin-configs.js';
import {
  type AlterPartitionReassignmentsRequest,
  alterPartitionReassignments,
  type ElectionResult,
  electLeaders,
  listPartitionReassignments,
  type PartitionReassignment,
  type PartitionSelection,
} from './admin-reassignments.js';
import {
  type DeletedRecords,
  type DeleteRecordsRequest,
  deleteRecords,
  describeLogDirs,
  type LogDirDescription,
} from './admin-records.js';
import type { BrokerInfo, CallOptions, Client, PartitionMetadata } from './client.js';
import { listOffset } from './consumer.js';
import { ConnectionError, GoqueueError, KafkaProtocolError, TimeoutError } from './errors.js';
import { requireCallOptions, requireObject, requireTopic } from './validate.js';

export interface CreateTopicRequest extends CallOptions {
  name: string;
  /** Partition count (default 1). */
  partitions?: number;
  /** Replication factor (default -1: the broker's default). `replicas` is the seed's name. */
  replicationFactor?: number;
  replicas?: number;
  /** Topic configs, e.g. { 'retention.ms': '60000' }. */
  configs?: Record<string, string>;
}

export interface TopicSummary {
  name: string;
  partitions: number;
  internal: boolean;
}

export interface PartitionDescription extends Omit<PartitionMetadata, 'errorCode'> {
  /** First offset still in the log. */
  startOffset: number;
  /** Offset the next message will get (the high watermark). */
  endOffset: number;
}

export interface TopicDescription {
  name: string;
  internal: boolean;
  partitions: PartitionDescription[];
}

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerInfo[];
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  isSensitive: boolean;
}

const RESOURCE_TYPES = { topic: 2, broker: 4 } as const;

/** `createTopic`'s request, checked at run time (plain-JavaScript callers have no types). */
function checkCreateTopic(request: unknown): void {
  const field = 'admin.createTopic(request)';
  const fields = requireObject(field, request);
  requireTopic(`${field}.name`, fields.name);
  for (const count of ['partitions', 'replicationFactor', 'replicas'] as const) {
    const value = fields[count];
    // -1 is Kafka's "the broker's default".
    const valid = typeof value === 'number' && Number.isInteger(value) && (value >= 1 || value === -1);
    if (value !== undefined && !valid)
      throw new TypeError(
        `${field}.${count} must be a positive integer (or -1), not ${JSON.stringify(value)}`,
      );
  }
  if (fields.configs !== undefined) requireObject(`${field}.configs`, fields.configs);
  requireCallOptions(field, fields);
}

/** Cluster management: topics, partitions, brokers and configs. */
export class Admin {
  constructor(private readonly client: Client) {}

  /** Creates a topic; resolves with its name once the controller has accepted it. */
  async createTopic(request: CreateTopicRequest): Promise<{ name: string }> {
    checkCreateTopic(request);
    const partitions = request.partitions ?? 1;
    const replicationFactor = request.replicationFactor ?? request.replicas ?? -1;
    const body = {
      topics: [
        {
          name: request.name,
          numPartitions: partitions,
          replicationFactor,
          assignments: [],
          configs: Object.entries(request.configs ?? {}).map(([name, value]) => ({ name, value })),
        },
      ],
      timeoutMs: request.timeoutMs ?? this.client.timeoutMs,
      validateOnly: false,
    };
    // An attempt whose outcome is unknown (the broker answered REQUEST_TIMED_OUT while creating,
    // or no answer came) may have created the topic: TOPIC_ALREADY_EXISTS on a later attempt is
    // then this call's own topic, not a failure.
    let mayHaveCreated = false;
    await this.toController(
      ApiKey.CreateTopics,
      body,
      request,
      (response) => {
        const result = response.topics?.[0];
        if (result?.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && mayHaveCreated) return;
        if (result?.errorCode === ErrorCode.REQUEST_TIMED_OUT) mayHaveCreated = true;
        if (result?.errorCode)
          throw new KafkaProtocolError(result.errorCode, {
            // Fresh metadata cannot make a missing topic appear: do not retry it.
            retriable: result.errorCode === 3 ? false : undefined,
            topic: request.name,
            detail: result.errorMessage ?? null,
          });
      },
      () => {
        mayHaveCreated = true;
      },
    );
    await this.client.refreshMetadata([request.name], request).catch(() => undefined);
    return { name: request.name };
  }

  /** Deletes a topic and its data. */
  async deleteTopic(name: string, options: CallOptions = {}): Promise<void> {
    requireTopic('admin.deleteTopic(name)', name);
    await this.toController(
      ApiKey.DeleteTopics,
      {
        topicNames: [name],
        topics: [{ name, topicId: null }],
        timeoutMs: options.timeoutMs ?? this.client.timeoutMs,
      },
      options,
      (response) => {
        const result = response.responses?.[0];
        if (result?.errorCode)
          throw new KafkaProtocolError(result.errorCode, {
            // Fresh metadata cannot make a missing topic appear: do not retry it.
            retriable: result.errorCode === 3 ? false : undefined,
            topic: name,
            detail: result.errorMessage ?? null,
          });
      },
    );
    this.client.invalidateMetadata();
  }

  /** Every topic in the cluster with its partition count, sorted by name. */
  async listTopics(options: CallOptions = {}): Promise<TopicSummary[]> {
    const meta = await this.client.retrying(
      () => this.client.refreshMetadata(undefined, { ...options, allTopics: true }),
      options,
    );
    return [...meta.topics.values()]
      .map((t) => ({ name: t.name, partitions: t.partitions.length, internal: t.isInternal }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Partitions with leader, replicas, ISR and start/end offsets. */
  async describeTopic(name: string, options: CallOptions = {}): Promise<TopicDescription> {
    const topic = await this.client.retrying(async () => {
      await this.client.refreshMetadata([name], options);
      return this.client.topic(name, options);
    }, options);
    const partitions = await Promise.all(
      topic.partitions.map(async (p) => {
        const offsets = async (timestamp: number): Promise<number> => {
          if (p.leader < 0) return -1;
          return this.client.retrying(
            () => listOffset(this.client, name, p.partition, timestamp, options),
            options,
          );
        };
        const [startOffset, endOffset] = await Promise.all([offsets(-2), offsets(-1)]);
        return {
          partition: p.partition,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: p.offlineReplicas,
          startOffset,
          endOffset,
        };
      }),
    );
    return { name, internal: topic.isInternal, partitions };
  }

  /** Raises a topic's partition count to `count` (partitions are never removed). */
  async createPartitions(request: { topic: string; count: number } & CallOptions): Promise<void> {
    await this.toController(
      ApiKey.CreatePartitions,
      {
        topics: [{ name: request.topic, count: request.count, assignments: null }],
        timeoutMs: request.timeoutMs ?? this.client.timeoutMs,
        validateOnly: false,
      },
      request,
      (response) => {
        const result = response.results?.[0];
        if (result?.errorCode)
          throw new KafkaProtocolError(result.errorCode, {
            // Fresh metadata cannot make a missing topic appear: do not retry it.
            retriable: result.errorCode === 3 ? false : undefined,
            topic: request.topic,
            detail: result.errorMessage ?? null,
          });
      },
    );
    await this.client.refreshMetadata([request.topic], request).catch(() => undefined);
  }

  /** The brokers and the current controller. */
  async describeCluster(options: CallOptions = {}): Promise<ClusterDescription> {
    const meta = await this.client.retrying(() => this.client.refreshMetadata(undefined, options), options);
    return {
      clusterId: meta.clusterId,
      controllerId: meta.controllerId,
      brokers: [...meta.brokers.values()].sort((a, b) => a.nodeId - b.nodeId),
    };
  }

  /** Config entries of a topic or a broker (by id). */
  async describeConfigs(
    request: { type: 'topic' | 'broker'; name: string; keys?: string[] } & CallOptions,
  ): Promise<ConfigEntry[]> {
    const resourceType = RESOURCE_TYPES[request.type];
    if (resourceType === undefined)
      throw new GoqueueError(`describeConfigs type must be "topic" or "broker", not "${request.type}"`);
    return this.client.retrying(async () => {
      const connection =
        request.type === 'broker'
          ? await this.client.brokerConnection(Number(request.name), request)
          : await this.client.anyConnection(request);
      const response = await this.client.send(
        connection,
        ApiKey.DescribeConfigs,
        {
          resources: [{ resourceType, resourceName: request.name, configurationKeys: request.keys ?? null }],
          includeSynonyms: false,
          includeDocumentation: false,
        },
        request,
      );
      const result = response.results?.[0];
      if (!result) throw new GoqueueError('the broker sent an empty DescribeConfigs response');
      if (result.errorCode) {
        throw new KafkaProtocolError(result.errorCode, {
          // Fresh metadata cannot make a missing topic appear: do not retry it.
          retriable: result.errorCode === 3 ? false : undefined,
          ...(request.type === 'topic' ? { topic: request.name } : {}),
          detail: result.errorMessage ?? null,
        });
      }
      return (result.configs ?? []).map((c: any) => ({
        name: c.name,
        value: c.value ?? null,
        readOnly: c.readOnly ?? false,
        // v0 says isDefault; v1+ says configSource (5 = default config).
        isDefault: c.isDefault ?? c.configSource === 5,
        isSensitive: c.isSensitive ?? false,
      }));
    }, request);
  }

  /**
   * Replaces a topic's or broker's dynamic configs with `configs` (AlterConfigs): keys not
   * named return to their defaults. `validateOnly` checks without applying.
   */
  alterConfigs(request: AlterConfigsRequest): Promise<void> {
    return alterConfigs(this.client, request);
  }

  /**
   * Sets, deletes, appends to or subtracts from named config keys of a topic or broker
   * (IncrementalAlterConfigs); keys not named keep their values.
   */
  incrementalAlterConfigs(request: IncrementalAlterConfigsRequest): Promise<void> {
    return incrementalAlterConfigs(this.client, request);
  }

  /** Deletes the records below each given offset (-1: the high watermark), on each partition's leader. */
  deleteRecords(request: DeleteRecordsRequest): Promise<DeletedRecords[]> {
    return deleteRecords(this.client, request);
  }

  /** The log directories of one broker or of every broker, with the replicas each holds. */
  describeLogDirs(brokerId?: number, options: CallOptions = {}): Promise<LogDirDescription[]> {
    return describeLogDirs(this.client, brokerId, options);
  }

  /** Moves partitions to new replica lists (null cancels a move); the moves run in the background. */
  alterPartitionReassignments(request: AlterPartitionReassignmentsRequest): Promise<void> {
    return alterPartitionReassignments(this.client, request);
  }

  /** The partition moves in progress: every one, or a topic's (or some of its partitions'). */
  listPartitionReassignments(request: PartitionSelection = {}): Promise<PartitionReassignment[]> {
    return listPartitionReassignments(this.client, request);
  }

  /** Hands each selected partition's leadership to its preferred replica (the first listed). */
  electLeaders(request: PartitionSelection = {}): Promise<ElectionResult[]> {
    return electLeaders(this.client, request);
  }

  /**
   * Sends an admin request to the controller, rediscovering it on NOT_CONTROLLER. `unanswered`
   * is told when a sent request got no answer (timeout, lost connection): the broker may have
   * acted on it.
   */
  private toController(
    apiKey: number,
    body: object,
    options: CallOptions,
    check: (response: any) => void,
    unanswered?: () => void,
  ): Promise<void> {
    return this.client.retrying(async () => {
      const connection = await this.client.controllerConnection(options);
      const response = await this.client.send(connection, apiKey, body, options).catch((error: unknown) => {
        if (error instanceof TimeoutError || error instanceof ConnectionError) unanswered?.();
        throw error;
      });
      check(response);
    }, options);
  }
}
