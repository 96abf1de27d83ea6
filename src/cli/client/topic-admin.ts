import type { Command } from 'commander';
import { Admin } from '../../client/admin.js';
import type { ConfigChange } from '../../client/admin-configs.js';
import { HIGH_WATERMARK } from '../../client/admin-records.js';
import {
  action,
  type CommandIo,
  type ConnectionFlags,
  DEFAULT_BOOTSTRAP,
  table,
  UsageError,
  withClient,
} from './io.js';

interface AlterConfigFlags extends ConnectionFlags {
  set?: string[];
  delete?: string[];
  append?: string[];
  subtract?: string[];
  dryRun?: boolean;
}

/** `key=value` of a flag, split at the first '='. */
function keyValue(flag: string, entry: string): { name: string; value: string } {
  const at = entry.indexOf('=');
  if (at <= 0) throw new UsageError(`${flag} takes key=value, not "${entry}"`);
  return { name: entry.slice(0, at), value: entry.slice(at + 1) };
}

/** The flags' changes in the order set, delete, append, subtract. */
function changesOf(flags: AlterConfigFlags): ConfigChange[] {
  const changes: ConfigChange[] = [
    ...(flags.set ?? []).map((entry) => ({ ...keyValue('--set', entry), op: 'set' as const })),
    ...(flags.delete ?? []).map((name) => ({ name, op: 'delete' as const })),
    ...(flags.append ?? []).map((entry) => ({ ...keyValue('--append', entry), op: 'append' as const })),
    ...(flags.subtract ?? []).map((entry) => ({ ...keyValue('--subtract', entry), op: 'subtract' as const })),
  ];
  if (changes.length === 0)
    throw new UsageError('alter-config needs --set, --delete, --append or --subtract');
  return changes;
}

function describeChange(change: ConfigChange): string {
  return change.op === 'delete' ? `delete ${change.name}` : `${change.op} ${change.name}=${change.value}`;
}

/** `-p N` or `-p N:OFFSET`; a bare N takes `--offset`. */
function partitionOffsets(
  specs: string[] | undefined,
  offset: number | undefined,
): Array<{ partition: number; offset: number }> | 'every' {
  if (specs === undefined || specs.length === 0) {
    if (offset === undefined) throw new UsageError('delete-records needs --offset, or --partition N:OFFSET');
    return 'every';
  }
  return specs.map((spec) => {
    const match = /^(\d+)(?::(-?\d+|end))?$/.exec(spec);
    if (!match) throw new UsageError(`--partition takes N or N:OFFSET, not "${spec}"`);
    const given = match[2] === undefined ? offset : parseOffset(match[2]);
    if (given === undefined)
      throw new UsageError(`--partition ${spec} needs an offset: N:OFFSET or --offset`);
    return { partition: Number(match[1]), offset: given };
  });
}

/** An offset, or `end` (the high watermark: delete everything committed). */
function parseOffset(value: string): number {
  if (value === 'end') return HIGH_WATERMARK;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < HIGH_WATERMARK)
    throw new UsageError(`--offset must be a non-negative integer or "end", not "${value}"`);
  return parsed;
}

/** `goqueue topic alter-config` and `goqueue topic delete-records`. */
export function registerTopicAdminCommands(topic: Command, io: CommandIo): void {
  topic
    .command('alter-config <name>')
    .description("change a topic's configs; keys not named keep their values")
    .option('--set <key=value...>', 'give keys these values')
    .option('--delete <key...>', "remove the topic's own value (the broker default applies again)")
    .option('--append <key=value...>', 'add items to a list config')
    .option('--subtract <key=value...>', 'remove items from a list config')
    .option('--dry-run', 'have the broker check the change without applying it')
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .action(
      action(async (name: string, flags: AlterConfigFlags) => {
        const changes = changesOf(flags);
        await withClient(flags, (client) =>
          new Admin(client).incrementalAlterConfigs({
            type: 'topic',
            name,
            changes,
            validateOnly: flags.dryRun === true,
          }),
        );
        const list = changes.map(describeChange).join(', ');
        io.stdout.write(
          flags.dryRun
            ? `dry run: the broker accepts ${list} on topic ${name}\n`
            : `altered topic ${name}: ${list}\n`,
        );
      }),
    );

  topic
    .command('delete-records <name>')
    .description('delete the records below an offset (the partition keeps the rest)')
    .option(
      '-p, --partition <N:OFFSET...>',
      'partitions (default: every one), each with its own offset or --offset',
    )
    .option('-o, --offset <offset>', 'new first offset; "end" deletes everything committed', parseOffset)
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .option('--json', 'print JSON')
    .action(
      action(
        async (
          name: string,
          flags: ConnectionFlags & { partition?: string[]; offset?: number; json?: boolean },
        ) => {
          const wanted = partitionOffsets(flags.partition, flags.offset);
          const deleted = await withClient(flags, async (client) => {
            const admin = new Admin(client);
            const partitions =
              wanted === 'every'
                ? (await admin.describeTopic(name)).partitions.map((p) => ({
                    partition: p.partition,
                    offset: flags.offset as number,
                  }))
                : wanted;
            return admin.deleteRecords({ topic: name, partitions });
          });
          if (flags.json) {
            io.stdout.write(`${JSON.stringify(deleted)}\n`);
            return;
          }
          io.stdout.write(
            `${table(
              ['PARTITION', 'START'],
              deleted.map((entry) => [entry.partition, entry.lowWatermark]),
            )}\n`,
          );
        },
      ),
    );
}
