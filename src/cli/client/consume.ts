import type { Command } from 'commander';
import type { Client } from '../../client/client.js';
import { Consumer, type StartPosition } from '../../client/consumer.js';
import type { Message } from '../../client/records.js';
import { consumeAsGroup } from './group.js';
import {
  action,
  type CommandIo,
  type ConnectionFlags,
  DEFAULT_BOOTSTRAP,
  parseInteger,
  UsageError,
  withClient,
  writeLine,
} from './io.js';

interface ConsumeFlags extends ConnectionFlags {
  partition?: number;
  fromBeginning?: boolean;
  offset?: number;
  follow?: boolean;
  format: 'text' | 'json';
  printKey?: boolean;
  keySeparator: string;
  maxMessages?: number;
  group?: string;
}

function render(message: Message, flags: ConsumeFlags): string {
  if (flags.format === 'json') {
    return JSON.stringify({
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      timestamp: message.timestamp,
      key: message.key?.toString() ?? null,
      value: message.value?.toString() ?? null,
      headers: Object.fromEntries(message.headers.map((h) => [h.key, h.value?.toString() ?? null])),
    });
  }
  const value = message.value?.toString() ?? '';
  return flags.printKey ? `${message.key?.toString() ?? ''}${flags.keySeparator}${value}` : value;
}

/** Reads one partition from `start` up to the end it had when we started (or forever with --follow). */
async function consumePartition(
  client: Client,
  topic: string,
  partition: number,
  flags: ConsumeFlags,
  emit: (message: Message) => Promise<boolean>,
  signal: AbortSignal,
): Promise<void> {
  const consumer = new Consumer(client);
  const from: StartPosition = flags.offset ?? (flags.fromBeginning ? 'earliest' : 'latest');
  if (flags.follow) {
    for await (const message of consumer.stream({ topic, partition, from, signal })) {
      if (!(await emit(message))) return;
    }
    return;
  }
  let offset = await consumer.resolveOffset(topic, partition, from);
  const end = await consumer.resolveOffset(topic, partition, 'latest');
  while (offset < end && !signal.aborted) {
    const result = await consumer.fetchFrom({ topic, partition, offset, maxWaitMs: 0 });
    for (const message of result.messages) {
      if (message.offset >= end) return;
      if (!(await emit(message))) return;
    }
    if (result.nextOffset <= offset) return;
    offset = result.nextOffset;
  }
}

/** `goqueue consume <topic>`: prints messages, one per line. */
export function registerConsumeCommand(program: Command, io: CommandIo): void {
  program
    .command('consume <topic>')
    .description('print messages of a topic (all partitions unless --partition)')
    .option('-p, --partition <n>', 'read only this partition', parseInteger('--partition'))
    .option('--from-beginning', 'start at the earliest offset (default: the end)')
    .option('-o, --offset <n>', 'start at this offset', parseInteger('--offset'))
    .option('-F, --follow', 'keep waiting for new messages (Ctrl-C stops)')
    .option('--format <format>', 'text (value per line) or json', 'text')
    .option('--print-key', 'text format: print key<separator>value')
    .option('-k, --key-separator <text>', 'separator for --print-key', '\t')
    .option('-n, --max-messages <n>', 'stop after this many messages', parseInteger('--max-messages'))
    .option('-g, --group <id>', 'read as a member of this consumer group (until Ctrl-C or --max-messages)')
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .action(
      action(async (topic: string, flags: ConsumeFlags) => {
        if (flags.format !== 'text' && flags.format !== 'json')
          throw new UsageError(`--format must be text or json, not "${flags.format}"`);
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal);
        let printed = 0;
        const emit = async (message: Message): Promise<boolean> => {
          if (flags.maxMessages !== undefined && printed >= flags.maxMessages) return false;
          printed++;
          await writeLine(io.stdout, render(message, flags));
          if (flags.maxMessages !== undefined && printed >= flags.maxMessages) {
            stop.abort();
            return false;
          }
          return true;
        };
        try {
          if (flags.group !== undefined) {
            if (flags.partition !== undefined || flags.offset !== undefined)
              throw new UsageError(
                '--group reads the partitions the group assigns: no --partition or --offset',
              );
            const request = { topic, groupId: flags.group, fromBeginning: flags.fromBeginning === true };
            await withClient(flags, (client) => consumeAsGroup(client, request, emit, stop.signal));
            return;
          }
          await withClient(flags, async (client) => {
            const partitions =
              flags.partition === undefined
                ? (await client.topic(topic)).partitions.map((p) => p.partition)
                : [flags.partition];
            await Promise.all(
              partitions.map((p) => consumePartition(client, topic, p, flags, emit, stop.signal)),
            );
          });
        } finally {
          process.removeListener('SIGINT', onSignal);
        }
      }),
    );
}
