import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { CompressionName } from '../../client/codecs.js';
import { Producer } from '../../client/producer.js';
import {
  action,
  type CommandIo,
  type ConnectionFlags,
  DEFAULT_BOOTSTRAP,
  parseInteger,
  UsageError,
  withClient,
} from './io.js';

interface ProduceFlags extends ConnectionFlags {
  file?: string;
  partition?: number;
  keySeparator?: string;
  compression: CompressionName;
  acks: string;
  lingerMs: number;
}

/** `goqueue produce <topic>`: one message per input line (stdin or --file). */
export function registerProduceCommand(program: Command, io: CommandIo): void {
  program
    .command('produce <topic>')
    .description('send one message per line of stdin (or --file)')
    .option('-f, --file <path>', 'read lines from this file instead of stdin')
    .option(
      '-p, --partition <n>',
      'send to this partition (default: by key, or sticky)',
      parseInteger('--partition'),
    )
    .option('-k, --key-separator <text>', 'split each line into key and value at the first <text>')
    .option('--compression <codec>', 'none, gzip, snappy, lz4 or zstd', 'none')
    .option('--acks <acks>', 'all (-1), 1 or 0', 'all')
    .option('--linger-ms <ms>', 'batching delay', parseInteger('--linger-ms'), 5)
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .action(
      action(async (topic: string, flags: ProduceFlags) => {
        const acks = flags.acks === 'all' ? -1 : Number(flags.acks);
        if (acks !== -1 && acks !== 0 && acks !== 1)
          throw new UsageError(`--acks must be all, -1, 1 or 0, not "${flags.acks}"`);
        const input = flags.file ? createReadStream(flags.file) : io.stdin;
        const count = await withClient(flags, async (client) => {
          const producer = new Producer(client, {
            acks,
            compression: flags.compression,
            lingerMs: flags.lingerMs,
          });
          const sends: Array<Promise<unknown>> = [];
          let firstError: unknown;
          for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
            if (line === '') continue;
            let key: string | null = null;
            let value = line;
            if (flags.keySeparator) {
              const at = line.indexOf(flags.keySeparator);
              if (at >= 0) {
                key = line.slice(0, at);
                value = line.slice(at + flags.keySeparator.length);
              }
            }
            const sent = producer.send({
              topic,
              key,
              value,
              ...(flags.partition === undefined ? {} : { partition: flags.partition }),
            });
            sent.catch((error) => {
              firstError ??= error;
            });
            sends.push(sent);
            // Bound the memory held by unacknowledged records.
            if (sends.length >= 10_000) await Promise.allSettled(sends.splice(0));
          }
          await producer.flush();
          await Promise.allSettled(sends);
          if (firstError) throw firstError;
          return sends.length;
        });
        io.stderr.write(`produced ${count} message(s) to ${topic}\n`);
      }),
    );
}
