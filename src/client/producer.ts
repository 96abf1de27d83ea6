import { crc32c } from '../protocol/crc32c.js';
import { ApiKey } from '../protocol/index.js';
import { type BatchProducer, encodeProducerBatch, type OutgoingRecord } from './batch-encoder.js';
import type { CallOptions, Client } from './client.js';
import { type CompressionName, codecId, nativeCodecs, nativeSupport } from './codecs.js';
import { GoqueueError, KafkaProtocolError } from './errors.js';
import { type LaneResult, PartitionLane, ProducerIdSource } from './idempotence.js';
import { partitionForKey, StickyPartitioner } from './partitioner.js';
import { type MessageInput, toBuffer, toHeaders } from './records.js';
import {
  requireCallOptions,
  requireMessage,
  requireObject,
  requirePartition,
  requireTopic,
} from './validate.js';

/** -1 (or 'all'): the quorum has it on disk; 1: the leader has it; 0: no answer at all. */
export type Acks = -1 | 0 | 1 | 'all';

export interface ProducerOptions {
  acks?: Acks;
  compression?: CompressionName;
  /** How long `send()` waits for more records before sending a batch (default 5 ms). */
  lingerMs?: number;
  /** A partition's pending batch is sent once it holds this many bytes (default 256 KiB). */
  batchBytes?: number;
  /** Limit the broker applies to a produce with acks=-1 (default: the client's timeoutMs). */
  timeoutMs?: number;
  /** Replaces the default partitioner for records without an explicit partition. */
  partitioner?: (args: { topic: string; key: Buffer | null; partitionCount: number }) => number;
  /**
   * Kafka's `enable.idempotence` (default false; docs/client.md says why): the producer takes a
   * producer id and numbers each partition's batches, so a retried batch is stored once. Needs
   * acks -1 ("all"), the default; any other `acks` is refused.
   */
  idempotent?: boolean;
  /** An idempotent producer's batch fails once unacknowledged this long (default 120 000 ms,
   * Kafka's `delivery.timeout.ms`); until then it is retried, same bytes. */
  deliveryTimeoutMs?: number;
}

export interface ProduceRequest extends CallOptions {
  topic: string;
  partition?: number;
  messages: MessageInput[];
  acks?: Acks;
  compression?: CompressionName;
}

export interface ProduceResult {
  topic: string;
  partition: number;
  /** Offset of the first message (-1 with acks=0: the broker does not say). */
  baseOffset: number;
  /** Offset of each message, in order. */
  offsets: number[];
  /** Broker append time with LogAppendTime topics, else -1. */
  logAppendTimeMs: number;
}

export interface SendRecord extends MessageInput {
  topic: string;
  partition?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

interface PendingRecord {
  record: OutgoingRecord;
  resolve: (metadata: RecordMetadata) => void;
  reject: (error: Error) => void;
}

interface OpenBatch {
  topic: string;
  partition: number;
  records: PendingRecord[];
  bytes: number;
}

/** Record framing overhead (lengths, deltas, attributes) used to size batches. */
const RECORD_OVERHEAD_BYTES = 16;

/**
 * Writes messages. `produceMessage` (the seed's verb) sends one batch and resolves with its
 * offsets; `send` adds one record to a per-partition batch that goes out after `lingerMs` or
 * once it holds `batchBytes`, the throughput path.
 */
export class Producer {
  private readonly client: Client;
  private readonly acks: -1 | 0 | 1;
  private readonly codec: number;
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly timeoutMs: number;
  private readonly customPartitioner: ProducerOptions['partitioner'];
  private readonly sticky: StickyPartitioner;
  private readonly open = new Map<string, OpenBatch>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly topicLoading = new Map<string, Promise<unknown>>();
  private readonly lookups = new Set<Promise<number>>();
  private lingerTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set for an idempotent producer: its id, and one lane per partition written to. */
  private readonly producerIds: ProducerIdSource | null;
  private readonly lanes = new Map<string, PartitionLane>();
  private readonly deliveryTimeoutMs: number;

  constructor(client: Client, options: ProducerOptions = {}) {
    this.client = client;
    this.acks = normalizeAcks(options.acks ?? -1);
    this.codec = codecId(options.compression);
    this.lingerMs = options.lingerMs ?? 5;
    this.batchBytes = options.batchBytes ?? 256 * 1024;
    this.timeoutMs = options.timeoutMs ?? client.timeoutMs;
    this.customPartitioner = options.partitioner;
    this.sticky = new StickyPartitioner(client.random);
    const idempotent = options.idempotent ?? false;
    if (typeof idempotent !== 'boolean') {
      throw new TypeError(
        `new Producer(client, options).idempotent must be a boolean, not ${typeof idempotent}`,
      );
    }
    if (idempotent && this.acks !== -1) {
      throw new GoqueueError(
        `an idempotent producer needs acks -1 ("all"), not ${String(options.acks)}: drop acks or set idempotent: false`,
      );
    }
    this.producerIds = idempotent ? new ProducerIdSource(client) : null;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 120_000;
  }

  /** True when this producer is idempotent (`idempotent: true`). */
  get idempotent(): boolean {
    return this.producerIds !== null;
  }

  /** Sends `messages` as one batch to one partition and resolves with their offsets. */
  async produceMessage(request: ProduceRequest): Promise<ProduceResult> {
    checkProduceRequest(request);
    if (this.closed) throw new GoqueueError('the producer is closed');
    const now = Date.now();
    const records = request.messages.map((m) => ({
      key: toBuffer(m.key),
      value: toBuffer(m.value),
      headers: toHeaders(m.headers),
      timestamp: m.timestamp ?? now,
    }));
    const partition =
      request.partition ?? (await this.choosePartition(request.topic, records[0]?.key ?? null, request));
    const codec = request.compression === undefined ? this.codec : codecId(request.compression);
    const acks = request.acks === undefined ? this.acks : normalizeAcks(request.acks);
    let answer: { baseOffset: number; logAppendTimeMs: number };
    if (this.producerIds) {
      if (acks !== -1) {
        throw new GoqueueError(
          `an idempotent producer sends with acks -1 ("all"), not ${String(request.acks)}`,
        );
      }
      answer = await this.sendIdempotent(request.topic, partition, records, codec);
    } else {
      const batch = await this.encode(records, codec);
      answer = await this.produceBatch(request.topic, partition, batch, acks, request);
    }
    const base = answer.baseOffset;
    return {
      topic: request.topic,
      partition,
      baseOffset: base,
      offsets: records.map((_, i) => (base < 0 ? -1 : base + i)),
      logAppendTimeMs: answer.logAppendTimeMs,
    };
  }

  /** Queues one record for batching; resolves when its batch is acknowledged. */
  async send(record: SendRecord): Promise<RecordMetadata> {
    checkSendRecord(record);
    if (this.closed) throw new GoqueueError('the producer is closed');
    const key = toBuffer(record.key);
    const value = toBuffer(record.value);
    // Records queue in call order: a send with a known partition count queues at once; while
    // a topic's metadata loads, every send for that topic waits on the same promise (in call
    // order), so none overtakes another.
    const loading = this.topicLoading.get(record.topic);
    let partition = record.partition;
    if (partition === undefined || loading) {
      let partitionCount = loading ? undefined : this.client.cachedPartitionCount(record.topic);
      if (partitionCount === undefined) {
        // flush() waits for records still looking up their partition, too.
        const lookup = (async () => {
          await (loading ?? this.loadTopic(record.topic));
          return (await this.client.topic(record.topic)).partitions.length;
        })();
        this.lookups.add(lookup);
        try {
          partitionCount = await lookup;
        } finally {
          this.lookups.delete(lookup);
        }
      }
      partition ??= this.pickPartition(record.topic, key, partitionCount);
    }
    const entry = {
      key,
      value,
      headers: toHeaders(record.headers),
      timestamp: record.timestamp ?? Date.now(),
    };
    const size =
      RECORD_OVERHEAD_BYTES +
      (key?.length ?? 0) +
      (value?.length ?? 0) +
      entry.headers.reduce((sum, h) => sum + h.key.length + (h.value?.length ?? 0) + 8, 0);
    return new Promise<RecordMetadata>((resolve, reject) => {
      const id = `${record.topic}\u0000${partition}`;
      let batch = this.open.get(id);
      if (!batch) {
        batch = { topic: record.topic, partition, records: [], bytes: 0 };
        this.open.set(id, batch);
      }
      batch.records.push({ record: entry, resolve, reject });
      batch.bytes += size;
      if (batch.bytes >= this.batchBytes) this.drain(id);
      else if (!this.lingerTimer) this.lingerTimer = setTimeout(() => this.drainAll(), this.lingerMs);
    });
  }

  private loadTopic(topic: string): Promise<unknown> {
    const loading = this.client.topic(topic);
    this.topicLoading.set(topic, loading);
    loading.then(
      () => this.topicLoading.delete(topic),
      () => this.topicLoading.delete(topic),
    );
    return loading;
  }

  /** Sends every queued record now and waits until all sent batches are answered. */
  async flush(): Promise<void> {
    while (this.lookups.size > 0) {
      await Promise.allSettled([...this.lookups]);
      // Let the waiting send() calls queue their records before draining.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.drainAll();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Flushes, then refuses further sends. The client stays open. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private drainAll(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    const batches = [...this.open.values()];
    this.open.clear();
    if (batches.length > 0) this.sendBatches(batches);
  }

  /** Sends one full batch now (it reached batchBytes). */
  private drain(id: string): void {
    const batch = this.open.get(id);
    if (!batch) return;
    this.open.delete(id);
    if (this.open.size === 0 && this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    this.sendBatches([batch]);
  }

  /**
   * Sends closed batches: those whose leader is known share one Produce request per broker;
   * a partition that fails there with a retriable error, or whose leader is unknown, goes on
   * its own through the retrying path.
   */
  private sendBatches(batches: OpenBatch[]): void {
    for (const batch of batches) {
      const cached = this.client.cachedPartitionCount(batch.topic);
      if (cached !== undefined) this.sticky.onBatchSent(batch.topic, cached);
    }
    if (this.producerIds) {
      for (const batch of batches) {
        const work = this.sendIdempotent(
          batch.topic,
          batch.partition,
          batch.records.map((r) => r.record),
          this.codec,
        ).then(
          (answer) => settle(batch, answer.baseOffset),
          (error: Error) => {
            for (const r of batch.records) r.reject(error);
          },
        );
        this.inFlight.add(work);
        void work.finally(() => this.inFlight.delete(work));
      }
      return;
    }
    const work = (async () => {
      const encoded: EncodedBatch[] = [];
      for (const batch of batches) {
        try {
          encoded.push({
            batch,
            records: await this.encode(
              batch.records.map((r) => r.record),
              this.codec,
            ),
          });
        } catch (error) {
          for (const r of batch.records) r.reject(error as Error);
        }
      }
      const byLeader = new Map<number, EncodedBatch[]>();
      const alone: EncodedBatch[] = [];
      for (const item of encoded) {
        const leader = this.client.cachedLeader(item.batch.topic, item.batch.partition);
        if (leader === undefined || leader < 0) alone.push(item);
        else byLeader.set(leader, [...(byLeader.get(leader) ?? []), item]);
      }
      await Promise.all([
        ...alone.map((item) => this.sendAlone(item)),
        ...[...byLeader].map(([leader, items]) =>
          items.length === 1 ? this.sendAlone(items[0] as EncodedBatch) : this.sendShared(leader, items),
        ),
      ]);
    })();
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async sendAlone(item: EncodedBatch): Promise<void> {
    const { batch } = item;
    try {
      const { baseOffset } = await this.produceBatch(
        batch.topic,
        batch.partition,
        item.records,
        this.acks,
        {},
      );
      settle(batch, baseOffset);
    } catch (error) {
      for (const r of batch.records) r.reject(error as Error);
    }
  }

  /** One Produce request carrying several partitions' batches to their common leader. */
  private async sendShared(leader: number, items: EncodedBatch[]): Promise<void> {
    const topicData = new Map<string, Array<{ index: number; records: Buffer }>>();
    for (const { batch, records } of items) {
      topicData.set(batch.topic, [
        ...(topicData.get(batch.topic) ?? []),
        { index: batch.partition, records },
      ]);
    }
    const body = {
      transactionalId: null,
      acks: this.acks,
      timeoutMs: this.timeoutMs,
      topicData: [...topicData].map(([name, partitionData]) => ({ name, partitionData })),
    };
    let response: { responses?: ProduceTopicAnswer[] } | undefined;
    try {
      const connection = await this.client.brokerConnection(leader);
      if (this.acks === 0) {
        await this.client.send(connection, ApiKey.Produce, body, { expectResponse: false });
        for (const { batch } of items) settle(batch, -1);
        return;
      }
      response = await this.client.send(connection, ApiKey.Produce, body, {
        timeoutMs: this.timeoutMs + 5_000,
      });
    } catch {
      // The shared request failed as a whole: every batch retries on its own.
      await Promise.all(items.map((item) => this.sendAlone(item)));
      return;
    }
    const retry: EncodedBatch[] = [];
    for (const item of items) {
      const { batch } = item;
      const answer = response?.responses
        ?.find((t) => t.name === batch.topic)
        ?.partitionResponses?.find((p) => p.index === batch.partition);
      if (answer && answer.errorCode === 0) {
        settle(batch, answer.baseOffset);
        continue;
      }
      const error = answer
        ? new KafkaProtocolError(answer.errorCode, {
            topic: batch.topic,
            partition: batch.partition,
            detail: answer.errorMessage ?? null,
          })
        : new GoqueueError(
            `the broker's produce response names no partition for ${batch.topic}/${batch.partition}`,
          );
      if (error.retriable) retry.push(item);
      else for (const r of batch.records) r.reject(error);
    }
    if (retry.length > 0) {
      this.client.invalidateMetadata();
      await Promise.all(retry.map((item) => this.sendAlone(item)));
    }
  }

  private async choosePartition(topic: string, key: Buffer | null, options: CallOptions): Promise<number> {
    const partitionCount =
      this.client.cachedPartitionCount(topic) ?? (await this.client.topic(topic, options)).partitions.length;
    return this.pickPartition(topic, key, partitionCount);
  }

  private pickPartition(topic: string, key: Buffer | null, partitionCount: number): number {
    if (partitionCount === 0) throw new KafkaProtocolError(5, { topic });
    if (this.customPartitioner) return this.customPartitioner({ topic, key, partitionCount });
    if (key !== null) return partitionForKey(key, partitionCount);
    return this.sticky.partition(topic, partitionCount);
  }

  private async encode(records: OutgoingRecord[], codec: number, producer?: BatchProducer): Promise<Buffer> {
    const native = await nativeSupport();
    const codecs = codec === 0 ? undefined : await nativeCodecs(codec);
    return encodeProducerBatch(
      records,
      codec,
      native ? native.crc32c : (bytes) => crc32c(bytes),
      codecs,
      producer,
    );
  }

  /** Queues one batch on its partition's lane: numbered, kept in order, retried with the same bytes. */
  private sendIdempotent(
    topic: string,
    partition: number,
    records: OutgoingRecord[],
    codec: number,
  ): Promise<LaneResult> {
    return this.lane(topic, partition).add({
      recordCount: records.length,
      encode: (producer) => this.encode(records, codec, producer),
      deadlineMs: this.client.clock.nowMs() + this.deliveryTimeoutMs,
    });
  }

  private lane(topic: string, partition: number): PartitionLane {
    const id = `${topic}\u0000${partition}`;
    let lane = this.lanes.get(id);
    if (!lane) {
      lane = new PartitionLane(this.client, this.producerIds as ProducerIdSource, topic, partition, {
        connect: () => this.client.leaderConnection(topic, partition),
        send: async (connection, records) => {
          const body = {
            transactionalId: null,
            acks: -1,
            timeoutMs: this.timeoutMs,
            topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
          };
          const response = await this.client.send(connection, ApiKey.Produce, body, {
            timeoutMs: this.timeoutMs + 5_000,
          });
          const answer = response.responses?.[0]?.partitionResponses?.[0];
          if (!answer) {
            throw new GoqueueError(
              `the broker's produce response names no partition for ${topic}/${partition}`,
              {
                retriable: true,
              },
            );
          }
          return answer;
        },
      });
      this.lanes.set(id, lane);
    }
    return lane;
  }

  /** Sends one encoded batch to the partition's leader, retrying retriable failures. */
  private produceBatch(
    topic: string,
    partition: number,
    records: Buffer,
    acks: -1 | 0 | 1,
    options: CallOptions,
  ): Promise<{ baseOffset: number; logAppendTimeMs: number }> {
    return this.client.retrying(async () => {
      const connection = await this.client.leaderConnection(topic, partition, options);
      const body = {
        transactionalId: null,
        acks,
        timeoutMs: this.timeoutMs,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
      };
      if (acks === 0) {
        await this.client.send(connection, ApiKey.Produce, body, { ...options, expectResponse: false });
        return { baseOffset: -1, logAppendTimeMs: -1 };
      }
      const response = await this.client.send(connection, ApiKey.Produce, body, {
        ...options,
        timeoutMs: options.timeoutMs ?? this.timeoutMs + 5_000,
      });
      const answer = response.responses?.[0]?.partitionResponses?.[0];
      if (!answer)
        throw new GoqueueError(`the broker's produce response names no partition for ${topic}/${partition}`);
      if (answer.errorCode !== 0) {
        throw new KafkaProtocolError(answer.errorCode, {
          topic,
          partition,
          detail: answer.errorMessage ?? null,
        });
      }
      return { baseOffset: answer.baseOffset, logAppendTimeMs: answer.logAppendTimeMs ?? -1 };
    }, options);
  }
}

interface EncodedBatch {
  batch: OpenBatch;
  records: Buffer;
}

interface ProduceTopicAnswer {
  name: string;
  partitionResponses?: Array<{
    index: number;
    errorCode: number;
    baseOffset: number;
    errorMessage?: string | null;
  }>;
}

function settle(batch: OpenBatch, baseOffset: number): void {
  for (const [i, r] of batch.records.entries()) {
    r.resolve({
      topic: batch.topic,
      partition: batch.partition,
      offset: baseOffset < 0 ? -1 : baseOffset + i,
    });
  }
}

/** `produceMessage`'s request, checked at run time (plain-JavaScript callers have no types). */
function checkProduceRequest(request: unknown): void {
  const field = 'producer.produceMessage(request)';
  const fields = requireObject(field, request);
  requireTopic(`${field}.topic`, fields.topic);
  requirePartition(`${field}.partition`, fields.partition, true);
  if (!Array.isArray(fields.messages) || fields.messages.length === 0) {
    throw new TypeError(
      `${field}.messages must be a non-empty array of { value, key?, headers?, timestamp? }, not ${
        Array.isArray(fields.messages) ? 'an empty array' : typeof fields.messages
      }`,
    );
  }
  for (const [i, message] of fields.messages.entries()) requireMessage(`${field}.messages[${i}]`, message);
  requireCallOptions(field, fields);
}

/** `send`'s record, checked at run time. KafkaJS's `send({ topic, messages })` has its own message. */
function checkSendRecord(record: unknown): void {
  const field = 'producer.send(record)';
  const fields = requireObject(field, record);
  if ('messages' in fields) {
    throw new TypeError(
      `${field} takes one record { topic, value, key?, partition?, headers?, timestamp? }, not KafkaJS's ` +
        '{ topic, messages }: call send() once per message, or produceMessage({ topic, messages }) for a batch',
    );
  }
  requireTopic(`${field}.topic`, fields.topic);
  requirePartition(`${field}.partition`, fields.partition, true);
  requireMessage(field, fields);
}

function normalizeAcks(acks: Acks): -1 | 0 | 1 {
  if (acks === 'all' || acks === -1) return -1;
  if (acks === 0 || acks === 1) return acks;
  throw new GoqueueError(`acks must be -1 ("all"), 0 or 1, not ${String(acks)}`);
}
