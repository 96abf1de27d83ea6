import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/types.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { GroupCommit } from './group-commit.js';
import type { MetadataStore, TopicRecord } from './metadata-store.js';
import { LocalReplicatedLog, type ReplicatedLog } from './replicated-log.js';
import type { BrokerStorage } from './storage.js';

interface RecoveryReport {
  truncatedBytes: number;
  truncationReason?: string;
}

import { resolveTopicConfig, type TopicConfig } from './topic-config.js';

export interface PartitionState {
  topic: string;
  index: number;
  log: ReplicatedLog;
}

export interface TopicState {
  record: TopicRecord;
  config: TopicConfig;
  partitions: PartitionState[];
}

/** Error with a Kafka error-code name, raised by topic administration. */
export class TopicError extends Error {
  constructor(
    readonly errorName: 'TOPIC_ALREADY_EXISTS' | 'UNKNOWN_TOPIC_OR_PARTITION' | 'INVALID_PARTITIONS',
    message: string,
  ) {
    super(message);
    this.name = 'TopicError';
  }
}

/** `<dataDir>/topics/<topic>-<partition>/`: one directory per partition log. */
export function partitionDirectory(dataDir: string, topic: string, partition: number): string {
  return join(dataDir, 'topics', `${topic}-${partition}`);
}

/**
 * The topics this broker hosts: their metadata (through the MetadataStore) and their open
 * partition logs. Administrative changes run one at a time.
 */
export class Topics {
  private readonly topics = new Map<string, TopicState>();
  private adminQueue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: BrokerConfig,
    private readonly store: MetadataStore,
    private readonly groupCommit: GroupCommit,
    private readonly storage: BrokerStorage,
    private readonly logger: Logger,
  ) {}

  /** Opens every topic of the committed metadata and removes partition directories it does not
   * name (left by a crash between deleting a topic's metadata and its files, or by a creation
   * that never committed). */
  async open(): Promise<void> {
    const topicsDir = join(this.config.dataDir, 'topics');
    await mkdir(topicsDir, { recursive: true });
    const expected = new Set<string>();
    for (const record of Object.values(this.store.current.topics)) {
      for (let index = 0; index < record.partitionCount; index++) expected.add(`${record.name}-${index}`);
    }
    for (const entry of await readdir(topicsDir)) {
      if (!expected.has(entry)) {
        this.logger.warn({ directory: entry }, 'removing partition directory absent from metadata');
        await rm(join(topicsDir, entry), { recursive: true, force: true });
      }
    }
    for (const record of Object.values(this.store.current.topics)) {
      const config = resolveTopicConfig(record.configs, this.config);
      const partitions: PartitionState[] = [];
      for (let index = 0; index < record.partitionCount; index++) {
        partitions.push(await this.openPartition(record.name, index, config));
      }
      this.topics.set(record.name, { record, config, partitions });
    }
  }

  get(name: string): TopicState | undefined {
    return this.topics.get(name);
  }

  partition(topic: string, index: number): PartitionState | undefined {
    return this.topics.get(topic)?.partitions[index];
  }

  list(): TopicState[] {
    return [...this.topics.values()];
  }

  create(options: {
    name: string;
    partitionCount: number;
    replicationFactor: number;
    configs: Record<string, string>;
  }): Promise<TopicState> {
    return this.serialize(async () => {
      if (this.topics.has(options.name)) {
        throw new TopicError('TOPIC_ALREADY_EXISTS', `topic ${options.name} already exists`);
      }
      const record: TopicRecord = {
        name: options.name,
        topicId: randomUUID(),
        partitionCount: options.partitionCount,
        replicationFactor: options.replicationFactor,
        configs: options.configs,
      };
      const config = resolveTopicConfig(record.configs, this.config);
      // Partition directories first, metadata second: a crash in between leaves directories
      // that the next start removes, never metadata naming missing logs.
      const partitions: PartitionState[] = [];
      for (let index = 0; index < record.partitionCount; index++) {
        partitions.push(await this.openPartition(record.name, index, config));
      }
      await this.store.update((draft) => {
        draft.topics[record.name] = record;
      });
      const state = { record, config, partitions };
      this.topics.set(record.name, state);
      this.logger.info({ topic: record.name, partitions: record.partitionCount }, 'topic created');
      return state;
    });
  }

  delete(name: string): Promise<void> {
    return this.serialize(async () => {
      const state = this.topics.get(name);
      if (state === undefined) throw new TopicError('UNKNOWN_TOPIC_OR_PARTITION', `no topic ${name}`);
      // Metadata first: once it commits the topic is gone; files are removed after.
      await this.store.update((draft) => {
        delete draft.topics[name];
      });
      this.topics.delete(name);
      for (const partition of state.partitions) {
        await partition.log.close();
        await rm(partitionDirectory(this.config.dataDir, name, partition.index), {
          recursive: true,
          force: true,
        });
      }
      this.logger.info({ topic: name }, 'topic deleted');
    });
  }

  addPartitions(name: string, totalCount: number, validateOnly: boolean): Promise<void> {
    return this.serialize(async () => {
      const state = this.topics.get(name);
      if (state === undefined) throw new TopicError('UNKNOWN_TOPIC_OR_PARTITION', `no topic ${name}`);
      const current = state.record.partitionCount;
      if (totalCount <= current) {
        throw new TopicError(
          'INVALID_PARTITIONS',
          `topic ${name} has ${current} partitions; the new count must be larger, got ${totalCount}`,
        );
      }
      if (totalCount > this.config.maxTopicPartitions) {
        throw new TopicError(
          'INVALID_PARTITIONS',
          `${totalCount} partitions exceed max_topic_partitions (${this.config.maxTopicPartitions})`,
        );
      }
      if (validateOnly) return;
      for (let index = current; index < totalCount; index++) {
        state.partitions.push(await this.openPartition(name, index, state.config));
      }
      const record = { ...state.record, partitionCount: totalCount };
      await this.store.update((draft) => {
        draft.topics[name] = record;
      });
      state.record = record;
      this.logger.info({ topic: name, partitions: totalCount }, 'partitions added');
    });
  }

  /** Retention sweep: drops whole segments past each topic's `retention.ms` / `retention.bytes`. */
  async runRetention(nowMs: number): Promise<number> {
    let removed = 0;
    for (const state of this.topics.values()) {
      const { retentionMs, retentionBytes } = state.config;
      if (retentionMs < 0 && retentionBytes < 0) continue;
      for (const partition of state.partitions) {
        try {
          removed += await partition.log.applyRetention({ nowMs, retentionMs, retentionBytes });
        } catch (error) {
          this.logger.error(
            { err: error, topic: partition.topic, partition: partition.index },
            'retention failed',
          );
        }
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    await this.adminQueue;
    for (const state of this.topics.values()) {
      for (const partition of state.partitions) await partition.log.close();
    }
    this.topics.clear();
  }

  private async openPartition(topic: string, index: number, config: TopicConfig): Promise<PartitionState> {
    const directory = partitionDirectory(this.config.dataDir, topic, index);
    await mkdir(directory, { recursive: true });
    const log: PartitionLog & { recovery?: RecoveryReport } = this.storage.openLog(directory, {
      segmentBytes: config.segmentBytes,
      segmentMs: config.segmentMs,
      // The storage needs every batch to fit one segment.
      maxBatchBytes: Math.min(this.config.maxMessageBytes, config.segmentBytes),
    });
    const recovery = log.recovery;
    if (recovery !== undefined && recovery.truncatedBytes > 0) {
      this.logger.warn(
        {
          topic,
          partition: index,
          truncatedBytes: recovery.truncatedBytes,
          reason: recovery.truncationReason,
        },
        'cut a torn or corrupt log tail at the last valid batch',
      );
    }
    return {
      topic,
      index,
      log: new LocalReplicatedLog(log, this.groupCommit, {
        fsyncEnabled: this.config.fsyncEnabled,
        leaderEpoch: 0,
      }),
    };
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const result = this.adminQueue.then(work, work);
    this.adminQueue = result.catch(() => undefined);
    return result;
  }
}
