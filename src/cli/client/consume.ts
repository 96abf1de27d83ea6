import { type Command, Option } from 'commander';
import type { Client } from '../../client/client.js';
import { Consumer } from '../../client/consumer.js';
import type { Message } from '../../client/records.js';
import { CommandError } from '../broker-command.js';
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
  offset?: StartOffset;
  exitAtEnd?: boolean;
  follow?: boolean;
  format: 'text' | 'json';
  printKey?: boolean;
  keySeparator: string;
  maxMessages?: number;
  group?: string;
}

/**
 * Where `-o` starts, in the words of kcat and rpk: an end, an absolute offset, `-N` (N before
 * the end), `+N` (N after the start) or `@<ms>` (the first message at or after a time).
 */
export type StartOffset =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'absolute'; offset: number }
  | { kind: 'fromEnd'; count: number }
  | { kind: 'fromStart'; count: number }
  | { kind: 'timestamp'; timestampMs: number };

/** Parses `-o/--offset`. */
export function parseStartOffset(text: string): StartOffset {
  const value = text.trim();
  if (['beginning', 'start', 'earliest', 'oldest'].includes(value)) return { kind: 'earliest' };
  if (['end', 'latest', 'newest'].includes(value)) return { kind: 'latest' };
  const number = /^([+-]?)(\d+)$/.exec(value);
  if (number) {
    const amount = Number(number[2]);
    if (Number.isSafeInteger(amount)) {
      if (number[1] === '-') return { kind: 'fromEnd', count: amount };
      if (number[1] === '+') return { kind: 'fromStart', count: amount };
      return { kind: 'absolute', offset: amount };
    }
  }
  const time = /^s?@(\d+)$/.exec(value);
  if (time) return { kind: 'timestamp', timestampMs: Number(time[1]) };
  throw new UsageError(
    `-o/--offset takes beginning, end, an offset, -N (N before the end), +N (N after the start) or @<ms since the epoch>, not "${text}"`,
  );
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

/**
 * The offset `flags` start `topic`/`partition` at. An absolute offset (or +N) outside the
 * partition's range is refused with the range, instead of waiting silently for an offset that
 * may never come.
 */
async function startOffset(
  consumer: Consumer,
  topic: string,
  partition: number,
  flags: ConsumeFlags,
): Promise<number> {
  const start: StartOffset = flags.offset ?? { kind: flags.fromBeginning ? 'earliest' : 'latest' };
  if (start.kind === 'earliest') return consumer.resolveOffset(topic, partition, 'earliest');
  if (start.kind === 'latest') return consumer.resolveOffset(topic, partition, 'latest');
  if (start.kind === 'timestamp')
    return consumer.resolveOffset(topic, partition, { timestamp: start.timestampMs });
  const first = await consumer.resolveOffset(topic, partition, 'earliest');
  const end = await consumer.resolveOffset(topic, partition, 'latest');
  if (start.kind === 'fromEnd') return Math.max(first, end - start.count);
  const offset = start.kind === 'fromStart' ? first + start.count : start.offset;
  if (offset < first || offset > end) {
    const held = end > first ? `offsets ${first} to ${end - 1}` : `no messages (log start ${first})`;
    throw new CommandError(
      `offset ${offset} is out of range for ${topic} partition ${partition}: it holds ${held}, and the ` +
        `next message gets offset ${end}; use -o beginning, -o end, -o -N or an offset in that range`,
      1,
    );
  }
  return offset;
}

/**
 * Reads one partition: by default it keeps waiting for new messages until stopped (Ctrl-C,
 * --max-messages); with --exit-at-end it stops at the end the partition had when it started.
 */
async function consumePartition(
  client: Client,
  topic: string,
  partition: number,
  flags: ConsumeFlags,
  emit: (message: Message) => Promise<boolean>,
  signal: AbortSignal,
): Promise<void> {
  const consumer = new Consumer(client);
  let offset = await startOffset(consumer, topic, partition, flags);
  if (!flags.exitAtEnd) {
    for await (const message of consumer.stream({ topic, partition, from: offset, signal })) {
      if (!(await emit(message))) return;
    }
    return;
  }
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
    .description(
      'print messages of a topic (all partitions unless --partition), new ones as they come until ' +
        'Ctrl-C (-e stops at the end)',
    )
    .option('-p, --partition <n>', 'read only this partition', parseInteger('--partition'))
    .option('--from-beginning', 'start at the earliest offset (default: the end)')
    .option(
      '-o, --offset <where>',
      'start at beginning, end, an offset, -N (N before the end), +N (N after the start) or @<ms>',
      parseStartOffset,
    )
    .option(
      '-e, --exit-at-end',
      'stop at the end of each partition (default: wait for new messages until Ctrl-C)',
    )
    .addOption(new Option('-F, --follow', 'keep waiting for new messages (the default now)').hideHelp())
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
        if (flags.fromBeginning && flags.offset !== undefined)
          throw new UsageError('--from-beginning and -o/--offset both say where to start: give one');
        if (flags.exitAtEnd && flags.follow)
          throw new UsageError('-e/--exit-at-end and --follow contradict each other: give one');
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
