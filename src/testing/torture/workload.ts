/**
 * The torture workload: sequential actors that each record every operation in the history.
 *
 * - Producers write unique values (`<process>-<n>`) with acks=all, round-robin over the
 *   partitions: the goqueue SDK (not idempotent), KafkaJS idempotent, KafkaJS not idempotent.
 *   An error is `info` (the write may or may not have happened: a client retries internally).
 * - Assign consumers (the SDK, one per partition) read every partition from the start.
 * - Optionally (`groups`) KafkaJS group consumers, and a poller of the group's committed offsets.
 */
import { Kafka, type Producer as KafkaProducer, logLevel } from 'kafkajs';
import { Client } from '../../client/client.js';
import { Consumer } from '../../client/consumer.js';
import { Producer } from '../../client/producer.js';
import type { History } from './history.js';

export const TOPIC = 'torture';
export const GROUP_ID = 'torture-group';

export interface WorkloadOptions {
  bootstrap: string[];
  partitions: number;
  history: History;
  groups: boolean;
  /** Producers of each kind (default 1). */
  producersPerKind?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : String(error);
}

export function kafkaClient(bootstrap: string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: bootstrap,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
    connectionTimeout: 2000,
    requestTimeout: 10_000,
  });
}

export function sdkClient(bootstrap: string[], clientId: string): Client {
  return new Client({
    brokers: bootstrap,
    clientId,
    timeoutMs: 10_000,
    retry: { retries: 10, initialMs: 100, maxMs: 1000 },
    metadataMaxAgeMs: 5000,
  });
}

export class Workload {
  private running = true;
  private readonly actors: Array<Promise<void>> = [];
  private readonly cleanups: Array<() => Promise<void>> = [];

  constructor(private readonly options: WorkloadOptions) {}

  start(): void {
    const perKind = this.options.producersPerKind ?? 1;
    for (let i = 0; i < perKind; i++) {
      this.actors.push(this.sdkProducer(`sdk-${i}`));
      this.actors.push(this.kafkajsProducer(`kafkajs-idempotent-${i}`, true));
      this.actors.push(this.kafkajsProducer(`kafkajs-plain-${i}`, false));
    }
    for (let partition = 0; partition < this.options.partitions; partition++)
      this.actors.push(this.assignConsumer(`assign-${partition}`, partition));
    if (this.options.groups) {
      for (let i = 0; i < 2; i++) this.actors.push(this.groupConsumer(`group-${i}`));
      this.actors.push(this.committedOffsetPoller());
    }
  }

  /** Stops every actor; an operation still pending after `graceMs` stays invoked (indeterminate). */
  async stop(graceMs = 30_000): Promise<void> {
    this.running = false;
    await Promise.race([Promise.allSettled(this.actors), sleep(graceMs)]);
    await Promise.race([Promise.allSettled(this.cleanups.map((cleanup) => cleanup())), sleep(5000)]);
  }

  private async sdkProducer(process: string): Promise<void> {
    const { history, partitions } = this.options;
    const client = sdkClient(this.options.bootstrap, process);
    this.cleanups.push(() => client.close());
    const producer = new Producer(client, { acks: -1 });
    for (let n = 0; this.running; n++) {
      const value = `${process}-${n}`;
      const partition = n % partitions;
      history.record({ process, type: 'invoke', kind: 'send', partition, value });
      try {
        const result = await producer.produceMessage({ topic: TOPIC, partition, messages: [{ value }] });
        history.record({ process, type: 'ok', kind: 'send', partition, value, offset: result.baseOffset });
      } catch (error) {
        history.record({ process, type: 'info', kind: 'send', partition, value, error: describe(error) });
        await sleep(100);
      }
    }
  }

  private async kafkajsProducer(process: string, idempotent: boolean): Promise<void> {
    const { history, partitions } = this.options;
    const kafka = kafkaClient(this.options.bootstrap, process);
    let producer: KafkaProducer | null = null;
    this.cleanups.push(async () => producer?.disconnect());
    let failuresInRow = 0;
    for (let n = 0; this.running; n++) {
      if (producer === null) {
        producer = kafka.producer({
          idempotent,
          maxInFlightRequests: idempotent ? 1 : 5,
          allowAutoTopicCreation: false,
          retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
        });
        try {
          await producer.connect();
        } catch {
          producer = null;
          await sleep(250);
          n--;
          continue;
        }
      }
      const value = `${process}-${n}`;
      const partition = n % partitions;
      history.record({ process, type: 'invoke', kind: 'send', partition, value });
      try {
        const [metadata] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ value, partition }] });
        history.record({
          process,
          type: 'ok',
          kind: 'send',
          partition,
          value,
          offset: Number(metadata?.baseOffset ?? -1),
        });
        failuresInRow = 0;
      } catch (error) {
        history.record({ process, type: 'info', kind: 'send', partition, value, error: describe(error) });
        // KafkaJS gives the next message the failed one's sequence number when a send fails
        // after its retries, although the failed one may have been written: the broker then
        // takes the new message for a retry and answers with the old one's offset (seen with
        // seed 105). So an idempotent producer is replaced (new producer id) after any failure,
        // a plain one after three in a row.
        if (++failuresInRow >= (idempotent ? 1 : 3)) {
          const broken = producer;
          producer = null;
          failuresInRow = 0;
          await broken.disconnect().catch(() => undefined);
        }
        await sleep(100);
      }
    }
  }

  private async assignConsumer(process: string, partition: number): Promise<void> {
    const { history } = this.options;
    const client = sdkClient(this.options.bootstrap, process);
    this.cleanups.push(() => client.close());
    const consumer = new Consumer(client, { maxWaitMs: 500 });
    let offset = 0;
    while (this.running) {
      try {
        const result = await consumer.fetchFrom({ topic: TOPIC, partition, offset, maxWaitMs: 500 });
        if (result.messages.length > 0)
          history.record({
            process,
            type: 'ok',
            kind: 'poll',
            partition,
            records: result.messages.map((m) => [m.offset, m.value?.toString() ?? '']),
          });
        offset = Math.max(offset, result.nextOffset);
      } catch {
        await sleep(250);
      }
    }
  }

  private async groupConsumer(process: string): Promise<void> {
    const { history } = this.options;
    const kafka = kafkaClient(this.options.bootstrap, process);
    const consumer = kafka.consumer({ groupId: GROUP_ID, maxWaitTimeInMs: 500, sessionTimeout: 10_000 });
    this.cleanups.push(() => consumer.disconnect());
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          history.record({
            process,
            type: 'ok',
            kind: 'poll',
            partition: batch.partition,
            records: batch.messages.map((m) => [Number(m.offset), m.value?.toString() ?? '']),
          });
        },
      });
    } catch {
      // Group consumption is optional: a broker without working groups ends this actor only.
    }
    while (this.running) await sleep(200);
  }

  private async committedOffsetPoller(): Promise<void> {
    const { history } = this.options;
    const admin = kafkaClient(this.options.bootstrap, 'committed-offsets').admin();
    this.cleanups.push(() => admin.disconnect());
    while (this.running) {
      try {
        await admin.connect();
        const topics = await admin.fetchOffsets({ groupId: GROUP_ID, topics: [TOPIC] });
        for (const topic of topics)
          for (const { partition, offset } of topic.partitions)
            history.record({
              process: GROUP_ID,
              type: 'ok',
              kind: 'committed-offset',
              partition,
              offset: Number(offset),
            });
      } catch {
        // The coordinator may be moving; try again.
      }
      await sleep(1000);
    }
  }
}
