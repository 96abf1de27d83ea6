import type { Command } from 'commander';
import type { Client } from '../../client/client.js';
import { ConsumerGroup } from '../../client/consumer-group.js';
import { GroupAdmin, type OffsetResetTarget } from '../../client/group-admin.js';
import type { Message } from '../../client/records.js';
import {
  action,
  type CommandIo,
  type ConnectionFlags,
  DEFAULT_BOOTSTRAP,
  parseInteger,
  table,
  UsageError,
  withClient,
} from './io.js';

interface ResetFlags extends ConnectionFlags {
  topic: string;
  partition?: number[];
  toEarliest?: boolean;
  toLatest?: boolean;
  toOffset?: number;
  toDatetime?: string;
  shiftBy?: number;
  execute?: boolean;
  json?: boolean;
}

function resetTarget(flags: ResetFlags): OffsetResetTarget {
  const targets: OffsetResetTarget[] = [];
  if (flags.toEarliest) targets.push({ to: 'earliest' });
  if (flags.toLatest) targets.push({ to: 'latest' });
  if (flags.toOffset !== undefined) targets.push({ to: 'offset', offset: flags.toOffset });
  if (flags.shiftBy !== undefined) targets.push({ to: 'shift', by: flags.shiftBy });
  if (flags.toDatetime !== undefined) {
    const timestamp = Date.parse(flags.toDatetime);
    if (Number.isNaN(timestamp))
      throw new UsageError(
        `--to-datetime takes an ISO date such as 2026-01-31T12:00:00Z, not "${flags.toDatetime}"`,
      );
    targets.push({ to: 'timestamp', timestamp });
  }
  if (targets.length !== 1)
    throw new UsageError(
      'give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by',
    );
  return targets[0] as OffsetResetTarget;
}

function collectInteger(name: string): (value: string, previous: number[] | undefined) => number[] {
  const parse = parseInteger(name);
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** `goqueue group list|describe|reset-offsets|delete`. */
export function registerGroupCommands(program: Command, io: CommandIo): void {
  const group = program.command('group').description('list, describe, reset and delete consumer groups');

  group
    .command('list')
    .description('list the consumer groups')
    .option('--json', 'print JSON')
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .action(
      action(async (flags: ConnectionFlags & { json?: boolean }) => {
        const groups = await withClient(flags, (client) => new GroupAdmin(client).listGroups());
        if (flags.json) io.stdout.write(`${JSON.stringify(groups)}\n`);
        else if (groups.length === 0) io.stdout.write('no consumer groups\n');
        else
          io.stdout.write(
            `${table(
              ['GROUP', 'PROTOCOL TYPE'],
              groups.map((g) => [g.groupId, g.protocolType]),
            )}\n`,
          );
      }),
    );

  group
    .command('describe <group>')
    .description('show a group: state, members and their partitions, committed offsets and lag')
    .option('--json', 'print JSON')
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .action(
      action(async (groupId: string, flags: ConnectionFlags & { json?: boolean }) => {
        const described = await withClient(flags, (client) => new GroupAdmin(client).describeGroup(groupId));
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(described)}\n`);
          return;
        }
        const { coordinator } = described;
        io.stdout.write(
          `group ${described.groupId}: ${described.state}, ${described.members.length} member(s), ` +
            `assignor ${described.protocol || '-'}, coordinator ${coordinator.nodeId} (${coordinator.host}:${coordinator.port})\n`,
        );
        if (described.members.length > 0) {
          io.stdout.write(
            `\n${table(
              ['MEMBER', 'INSTANCE', 'CLIENT', 'HOST', 'PARTITIONS'],
              described.members.map((m) => [
                m.memberId,
                m.groupInstanceId ?? '-',
                m.clientId,
                m.clientHost,
                m.assignment.map((a) => `${a.topic}:${a.partitions.join(',')}`).join(' ') || '-',
              ]),
            )}\n`,
          );
        }
        if (described.offsets.length > 0) {
          io.stdout.write(
            `\n${table(
              ['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'OWNER'],
              described.offsets.map((o) => [
                o.topic,
                o.partition,
                o.committedOffset,
                o.endOffset,
                o.lag,
                o.owner ?? '-',
              ]),
            )}\n`,
          );
        } else {
          io.stdout.write('\nno committed offsets\n');
        }
      }),
    );

  group
    .command('reset-offsets <group>')
    .description("move a group's committed offsets (the group must have no running members)")
    .requiredOption('-t, --topic <topic>', 'topic whose offsets to move')
    .option('-p, --partition <n>', 'only this partition (repeatable)', collectInteger('--partition'))
    .option('--to-earliest', 'to the first offset')
    .option('--to-latest', 'to the end')
    .option('--to-offset <n>', 'to this offset', parseInteger('--to-offset'))
    .option('--to-datetime <iso>', 'to the first message at or after this time')
    .option('--shift-by <n>', 'move by n (negative: back)', parseInteger('--shift-by'))
    .option('--execute', 'commit the new offsets (without it: only print them)')
    .option('--json', 'print JSON')
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .action(
      action(async (groupId: string, flags: ResetFlags) => {
        const target = resetTarget(flags);
        const offsets = await withClient(flags, (client) =>
          new GroupAdmin(client).resetOffsets({
            groupId,
            topic: flags.topic,
            ...(flags.partition === undefined ? {} : { partitions: flags.partition }),
            target,
            execute: flags.execute === true,
          }),
        );
        if (flags.json) {
          io.stdout.write(`${JSON.stringify({ executed: flags.execute === true, offsets })}\n`);
          return;
        }
        io.stdout.write(
          `${table(
            ['TOPIC', 'PARTITION', 'NEW OFFSET'],
            offsets.map((o) => [o.topic, o.partition, o.offset]),
          )}\n`,
        );
        io.stderr.write(
          flags.execute
            ? `committed ${offsets.length} offset(s) for group ${groupId}\n`
            : 'dry run: nothing committed; add --execute to commit these offsets\n',
        );
      }),
    );

  group
    .command('delete <group>')
    .description('delete a group without members (its committed offsets go too)')
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .action(
      action(async (groupId: string, flags: ConnectionFlags) => {
        await withClient(flags, (client) => new GroupAdmin(client).deleteGroup(groupId));
        io.stdout.write(`deleted group ${groupId}\n`);
      }),
    );
}

/**
 * `goqueue consume <topic> --group <id>`: reads as a member of the group (its share of the
 * partitions, from the committed offsets, committing as it goes) until `signal` fires or `emit`
 * says stop. Partitions without a committed offset start at the end, or at the beginning with
 * `fromBeginning`.
 */
export async function consumeAsGroup(
  client: Client,
  request: { topic: string; groupId: string; fromBeginning: boolean },
  emit: (message: Message) => Promise<boolean>,
  signal: AbortSignal,
): Promise<void> {
  const member = new ConsumerGroup(client, {
    groupId: request.groupId,
    autoOffsetReset: request.fromBeginning ? 'earliest' : 'latest',
  });
  member.subscribe([request.topic]);
  const onAbort = (): void => void member.close();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const message of member) {
      // Printed is processed: the commit on close covers it.
      member.markProcessed(message);
      if (!(await emit(message))) break;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await member.close();
  }
}
