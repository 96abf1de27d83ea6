import type { Command } from 'commander';
import { Admin } from '../../client/admin.js';
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
import { registerTopicAdminCommands } from './topic-admin.js';

function parseConfigs(values: string[] | undefined): Record<string, string> {
  const configs: Record<string, string> = {};
  for (const entry of values ?? []) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new UsageError(`--config takes key=value, not "${entry}"`);
    configs[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return configs;
}

export function registerTopicCommands(program: Command, io: CommandIo): void {
  const topic = program
    .command('topic')
    .description('create, list, describe, alter and delete topics; delete records');

  topic
    .command('create <name>')
    .description('create a topic')
    .option('-p, --partitions <count>', 'partition count', parseInteger('--partitions'), 1)
    .option(
      '-r, --replication-factor <count>',
      'replicas per partition (default: the broker default)',
      parseInteger('--replication-factor'),
    )
    .option('-c, --config <key=value...>', 'topic config entries')
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .action(
      action(
        async (
          name: string,
          flags: ConnectionFlags & { partitions: number; replicationFactor?: number; config?: string[] },
        ) => {
          await withClient(flags, async (client) => {
            await new Admin(client).createTopic({
              name,
              partitions: flags.partitions,
              ...(flags.replicationFactor === undefined
                ? {}
                : { replicationFactor: flags.replicationFactor }),
              configs: parseConfigs(flags.config),
            });
          });
          io.stdout.write(`created topic ${name} with ${flags.partitions} partition(s)\n`);
        },
      ),
    );

  topic
    .command('list')
    .description('list topics')
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .option('--json', 'print JSON')
    .action(
      action(async (flags: ConnectionFlags & { json?: boolean }) => {
        const topics = await withClient(flags, (client) => new Admin(client).listTopics());
        if (flags.json) io.stdout.write(`${JSON.stringify(topics)}\n`);
        else if (topics.length === 0) io.stdout.write('no topics\n');
        else
          io.stdout.write(
            `${table(
              ['TOPIC', 'PARTITIONS'],
              topics.map((t) => [t.name, t.partitions]),
            )}\n`,
          );
      }),
    );

  topic
    .command('describe <name>')
    .description('show partitions, leaders, replicas, ISR and offsets of a topic')
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, flags: ConnectionFlags & { json?: boolean }) => {
        const description = await withClient(flags, (client) => new Admin(client).describeTopic(name));
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(description)}\n`);
          return;
        }
        io.stdout.write(`topic ${description.name}: ${description.partitions.length} partition(s)\n`);
        io.stdout.write(
          `${table(
            ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'START', 'END'],
            description.partitions.map((p) => [
              p.partition,
              p.leader,
              p.replicas.join(','),
              p.isr.join(','),
              p.startOffset,
              p.endOffset,
            ]),
          )}\n`,
        );
      }),
    );

  topic
    .command('delete <name>')
    .description('delete a topic and its data')
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .action(
      action(async (name: string, flags: ConnectionFlags) => {
        await withClient(flags, (client) => new Admin(client).deleteTopic(name));
        io.stdout.write(`deleted topic ${name}\n`);
      }),
    );

  registerTopicAdminCommands(topic, io);
}
