import type { Command } from 'commander';
import { Admin } from '../../client/admin.js';
import type { Client } from '../../client/client.js';
import type { CompressionName } from '../../client/codecs.js';
import { Consumer } from '../../client/consumer.js';
import { KafkaProtocolError } from '../../client/errors.js';
import { Producer } from '../../client/producer.js';
import {
  action,
  type CommandIo,
  type ConnectionFlags,
  DEFAULT_BOOTSTRAP,
  parseInteger,
  withClient,
} from './io.js';

export interface BenchSummary {
  messages: number;
  bytes: number;
  elapsedMs: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
  /** Per request (a produce batch or a fetch), in ms. */
  latencyP50Ms: number;
  latencyP99Ms: number;
}

/** The value at quantile `q` (0..1) of ascending `sorted`, nearest-rank. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export function summarize(
  messages: number,
  bytes: number,
  elapsedMs: number,
  latenciesMs: number[],
): BenchSummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const seconds = Math.max(elapsedMs, 1e-3) / 1000;
  return {
    messages,
    bytes,
    elapsedMs,
    messagesPerSecond: messages / seconds,
    megabytesPerSecond: bytes / seconds / (1024 * 1024),
    latencyP50Ms: percentile(sorted, 0.5),
    latencyP99Ms: percentile(sorted, 0.99),
  };
}

function formatSummary(kind: string, s: BenchSummary): string {
  return (
    `${kind}: ${s.messages} msgs in ${(s.elapsedMs / 1000).toFixed(2)} s — ` +
    `${Math.round(s.messagesPerSecond)} msgs/s, ${s.megabytesPerSecond.toFixed(2)} MB/s, ` +
    `latency p50 ${s.latencyP50Ms.toFixed(2)} ms, p99 ${s.latencyP99Ms.toFixed(2)} ms`
  );
}

/** A progress line redrawn in place on a terminal, silent otherwise. */
function progress(io: CommandIo, total: number, label: string): { update(done: number): void; end(): void } {
  if (!io.stderr.isTTY) return { update: () => undefined, end: () => undefined };
  const started = performance.now();
  let lastDrawMs = 0;
  const draw = (done: number): void => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    const rate = done / Math.max((performance.now() - started) / 1000, 1e-3);
    io.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${Math.round(rate)} msgs/s `,
    );
  };
  return {
    update(done) {
      const now = performance.now();
      if (now - lastDrawMs < 100 && done < total) return;
      lastDrawMs = now;
      draw(done);
    },
    end() {
      io.stderr.write('\n');
    },
  };
}

export interface ProduceBenchOptions {
  topic: string;
  messages: number;
  size: number;
  batch: number;
  concurrency: number;
  compression?: CompressionName;
  acks?: -1 | 0 | 1;
}

/** Produces `messages` values of `size` bytes in batches, `concurrency` batches in flight. */
export async function benchProduce(
  client: Client,
  options: ProduceBenchOptions,
  onProgress: (done: number) => void = () => undefined,
): Promise<BenchSummary> {
  const producer = new Producer(client, {
    ...(options.compression ? { compression: options.compression } : {}),
    ...(options.acks === undefined ? {} : { acks: options.acks }),
  });
  const value = Buffer.alloc(options.size, 'x');
  const batches = Math.ceil(options.messages / options.batch);
  const latencies: number[] = [];
  let nextBatch = 0;
  let done = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (nextBatch < batches) {
      const index = nextBatch++;
      const count = Math.min(options.batch, options.messages - index * options.batch);
      const messages = Array.from({ length: count }, () => ({ value }));
      const sentAt = performance.now();
      await producer.produceMessage({ topic: options.topic, partition: 0, messages });
      latencies.push(performance.now() - sentAt);
      done += count;
      onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return summarize(done, done * options.size, performance.now() - started, latencies);
}

/** Reads `messages` messages from the start of partition 0. */
export async function benchConsume(
  client: Client,
  options: { topic: string; messages: number; maxBytes?: number },
  onProgress: (done: number) => void = () => undefined,
): Promise<BenchSummary> {
  const consumer = new Consumer(client, { maxBytes: options.maxBytes ?? 4 * 1024 * 1024 });
  const latencies: number[] = [];
  let offset = await consumer.resolveOffset(options.topic, 0, 'earliest');
  let done = 0;
  let bytes = 0;
  const started = performance.now();
  while (done < options.messages) {
    const fetchedAt = performance.now();
    const result = await consumer.fetchFrom({ topic: options.topic, partition: 0, offset, maxWaitMs: 100 });
    latencies.push(performance.now() - fetchedAt);
    for (const message of result.messages) {
      if (done >= options.messages) break;
      done++;
      bytes += message.value?.length ?? 0;
    }
    offset = result.nextOffset;
    onProgress(done);
  }
  return summarize(done, bytes, performance.now() - started, latencies);
}

async function ensureTopic(client: Client, topic: string): Promise<void> {
  try {
    await new Admin(client).createTopic({ name: topic, partitions: 1 });
  } catch (error) {
    if (!(error instanceof KafkaProtocolError && error.code === 36)) throw error;
  }
}

interface BenchFlags extends ConnectionFlags {
  topic: string;
  messages: number;
  size: number;
  batch: number;
  concurrency: number;
  compression: CompressionName;
  json?: boolean;
}

/** `goqueue bench produce|consume`: throughput and latency against a running cluster. */
export function registerBenchCommands(program: Command, io: CommandIo): void {
  const bench = program.command('bench').description('measure produce and consume throughput');
  const common = (command: Command): Command =>
    command
      .option('-t, --topic <name>', 'topic to use (created with 1 partition if missing)', 'goqueue-bench')
      .option('-n, --messages <count>', 'messages to send or read', parseInteger('--messages'), 100_000)
      .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
      .option('--json', 'print the summary as JSON');

  common(bench.command('produce').description('produce messages and report msgs/s, MB/s and latency'))
    .option('-s, --size <bytes>', 'value size', parseInteger('--size'), 100)
    .option('--batch <count>', 'messages per produce request', parseInteger('--batch'), 100)
    .option('-c, --concurrency <count>', 'produce requests in flight', parseInteger('--concurrency'), 8)
    .option('--compression <codec>', 'none, gzip, snappy, lz4 or zstd', 'none')
    .action(
      action(async (flags: BenchFlags) => {
        const summary = await withClient(flags, async (client) => {
          await ensureTopic(client, flags.topic);
          const bar = progress(io, flags.messages, 'produce');
          try {
            return await benchProduce(
              client,
              {
                topic: flags.topic,
                messages: flags.messages,
                size: flags.size,
                batch: flags.batch,
                concurrency: flags.concurrency,
                compression: flags.compression,
              },
              bar.update,
            );
          } finally {
            bar.end();
          }
        });
        io.stdout.write(`${flags.json ? JSON.stringify(summary) : formatSummary('produce', summary)}\n`);
      }),
    );

  common(
    bench.command('consume').description('read messages from the start and report msgs/s, MB/s and latency'),
  ).action(
    action(async (flags: BenchFlags) => {
      const summary = await withClient(flags, async (client) => {
        const bar = progress(io, flags.messages, 'consume');
        try {
          return await benchConsume(client, { topic: flags.topic, messages: flags.messages }, bar.update);
        } finally {
          bar.end();
        }
      });
      io.stdout.write(`${flags.json ? JSON.stringify(summary) : formatSummary('consume', summary)}\n`);
    }),
  );
}
