import type { Command } from 'commander';
import { Admin } from '../../client/admin.js';
import type { ElectionResult } from '../../client/admin-reassignments.js';
import { CommandError } from '../broker-command.js';
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

/**
 * The `cluster` command's own `-b/--bootstrap` and `--json`: commander gives options the parent
 * knows to the parent wherever they stand on the line, so subcommands read them there.
 */
function clusterFlags(command: Command): ConnectionFlags & { json: boolean } {
  const parent = (command.parent?.opts() ?? {}) as { bootstrap?: string; json?: boolean };
  return { bootstrap: parent.bootstrap ?? DEFAULT_BOOTSTRAP, json: parent.json === true };
}

function parseBrokerList(value: string): number[] {
  const ids = value.split(',').map((item) => Number(item.trim()));
  if (ids.length === 0 || ids.some((id) => !Number.isInteger(id) || id < 0))
    throw new UsageError(`<brokers> is a comma-separated list of broker ids, not "${value}"`);
  return ids;
}

/** Election outcomes as JSON: the error as its code, name and message. */
function electionJson(results: ElectionResult[]) {
  return results.map(({ topic, partition, error }) => ({
    topic,
    partition,
    error: error === null ? null : { code: error.code, name: error.errorName, message: error.message },
  }));
}

/**
 * `goqueue cluster reassign | reassignments | elect-leaders | log-dirs`: the Kafka admin APIs
 * (KIP-455 reassignments, ElectLeaders, DescribeLogDirs) through `--bootstrap`.
 */
export function registerClusterAdminCommands(cluster: Command, io: CommandIo): void {
  const shared = '\nTakes `goqueue cluster`’s -b/--bootstrap (and --json), written anywhere on the line.';

  cluster
    .command('reassign <topic> <partition> [brokers]')
    .description('move a partition to the brokers listed, first = preferred leader')
    .addHelpText('after', shared)
    .option('--cancel', 'cancel the move in progress instead')
    .action(
      action(
        async (
          topic: string,
          partitionText: string,
          brokers: string | undefined,
          own: { cancel?: boolean },
          command: Command,
        ) => {
          const partition = parseInteger('<partition>')(partitionText);
          if (own.cancel === true && brokers !== undefined)
            throw new UsageError('--cancel takes no <brokers>');
          if (own.cancel !== true && brokers === undefined)
            throw new UsageError('reassign needs <brokers> (or --cancel)');
          const replicas = brokers === undefined ? null : parseBrokerList(brokers);
          await withClient(clusterFlags(command), (client) =>
            new Admin(client).alterPartitionReassignments({
              reassignments: [{ topic, partition, replicas }],
            }),
          );
          io.stdout.write(
            replicas === null
              ? `cancelled the move of ${topic}-${partition}\n`
              : `moving ${topic}-${partition} to brokers ${replicas.join(',')} (goqueue cluster reassignments shows progress)\n`,
          );
        },
      ),
    );

  cluster
    .command('reassignments [topic]')
    .description('list partition moves in progress')
    .addHelpText('after', shared)
    .action(
      action(async (topic: string | undefined, _own: object, command: Command) => {
        const flags = clusterFlags(command);
        const moves = await withClient(flags, (client) =>
          new Admin(client).listPartitionReassignments(topic === undefined ? {} : { topic }),
        );
        if (flags.json) io.stdout.write(`${JSON.stringify(moves)}\n`);
        else if (moves.length === 0) io.stdout.write('no reassignments in progress\n');
        else
          io.stdout.write(
            `${table(
              ['TOPIC', 'PARTITION', 'REPLICAS', 'ADDING', 'REMOVING'],
              moves.map((move) => [
                move.topic,
                move.partition,
                move.replicas.join(','),
                move.addingReplicas.join(',') || '-',
                move.removingReplicas.join(',') || '-',
              ]),
            )}\n`,
          );
      }),
    );

  cluster
    .command('elect-leaders [topic]')
    .description("hand leadership to each partition's preferred replica (default: every partition)")
    .addHelpText('after', shared)
    .option('-p, --partition <N...>', 'only these partitions of <topic>')
    .action(
      action(async (topic: string | undefined, own: { partition?: string[] }, command: Command) => {
        const flags = clusterFlags(command);
        if (own.partition !== undefined && topic === undefined)
          throw new UsageError('--partition needs a <topic>');
        const partitions = own.partition?.map((value) => parseInteger('--partition')(value));
        const results = await withClient(flags, (client) =>
          new Admin(client).electLeaders({
            ...(topic === undefined ? {} : { topic }),
            ...(partitions === undefined ? {} : { partitions }),
          }),
        );
        if (flags.json) io.stdout.write(`${JSON.stringify(electionJson(results))}\n`);
        else if (results.length === 0) io.stdout.write('every partition is led by its preferred replica\n');
        else
          io.stdout.write(
            `${table(
              ['TOPIC', 'PARTITION', 'RESULT'],
              results.map((result) => [
                result.topic,
                result.partition,
                result.error === null ? 'elected' : result.error.errorName,
              ]),
            )}\n`,
          );
        // ELECTION_NOT_NEEDED is success: the preferred replica leads.
        const failed = results.filter((result) => result.error !== null && result.error.code !== 84);
        if (failed.length > 0)
          throw new CommandError(
            `${failed.length} partition(s) kept their leader: ${failed.map((result) => result.error?.message).join('; ')}`,
            1,
          );
      }),
    );

  cluster
    .command('log-dirs')
    .description("each broker's data directory and the replicas in it with their bytes")
    .addHelpText('after', shared)
    .option('--broker <id>', 'only this broker', parseInteger('--broker'))
    .action(
      action(async (own: { broker?: number }, command: Command) => {
        const flags = clusterFlags(command);
        const directories = await withClient(flags, (client) =>
          new Admin(client).describeLogDirs(own.broker),
        );
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(directories)}\n`);
          return;
        }
        const rows = directories.flatMap((directory) =>
          directory.replicas.length === 0
            ? [[directory.brokerId, directory.logDir, '-', '-', '-', '-']]
            : directory.replicas.map((replica) => [
                directory.brokerId,
                directory.logDir,
                replica.topic,
                replica.partition,
                replica.sizeBytes,
                replica.offsetLag,
              ]),
        );
        io.stdout.write(`${table(['BROKER', 'DIR', 'TOPIC', 'PARTITION', 'BYTES', 'LAG'], rows)}\n`);
      }),
    );
}
