import type { Command } from 'commander';
import type { ClusterStatus } from '../../broker/controller-tasks.js';
import { Admin } from '../../client/admin.js';
import { CommandError } from '../broker-command.js';
import { registerClusterAdminCommands } from './cluster-admin.js';
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
 * `goqueue cluster`: the brokers and the controller (Kafka Metadata through `--bootstrap`); with
 * `--admin <host:port>` (a broker's `server.http_port`) the controller leader's full view — broker
 * state, rack, replica and leader counts, moves in progress, under-replicated, offline and
 * blocked partitions. `goqueue cluster decommission <id> --admin …` moves every replica off a
 * broker (refused when the others cannot hold the replication factor); `--cancel` stops that.
 */
export function registerClusterCommand(program: Command, io: CommandIo): void {
  const cluster = program
    .command('cluster')
    .description(
      'show the brokers, the controller and moves in progress; move partitions and leaders; decommission a broker',
    )
    .option('-b, --bootstrap <brokers>', 'brokers to contact', DEFAULT_BOOTSTRAP)
    .option('--admin <host:port>', "a broker's admin HTTP address (server.http_port): the full view")
    .option('--json', 'print JSON')
    .action(
      action(async (flags: ConnectionFlags & { json?: boolean; admin?: string }) => {
        if (flags.admin !== undefined) {
          const status = await adminCall<ClusterStatus>(flags.admin, 'GET', '/v1/cluster');
          io.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : formatStatus(status));
          return;
        }
        const described = await withClient(flags, (client) => new Admin(client).describeCluster());
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(described)}\n`);
          return;
        }
        io.stdout.write(
          `cluster ${described.clusterId ?? '(no id)'}, controller ${described.controllerId}\n`,
        );
        io.stdout.write(
          `${table(
            ['BROKER', 'HOST', 'PORT', 'RACK', 'ROLE'],
            described.brokers.map((b) => [
              b.nodeId,
              b.host,
              b.port,
              b.rack ?? '-',
              b.nodeId === described.controllerId ? 'controller' : '',
            ]),
          )}\n`,
        );
      }),
    );

  cluster
    .command('decommission <broker>')
    .description('move every replica off a broker (refused when the others cannot hold them)')
    .option('--admin <host:port>', "a broker's admin HTTP address (server.http_port)")
    .option('--cancel', 'stop decommissioning: the broker takes new replicas again')
    .action(
      action(async (broker: string, own: { admin?: string; cancel?: boolean }, command: Command) => {
        const brokerId = parseInteger('<broker>')(broker);
        // The parent `cluster` command takes --admin wherever it stands on the line.
        const parent = (command.parent?.opts() ?? {}) as { admin?: string };
        const address = own.admin ?? parent.admin;
        if (address === undefined) throw new UsageError('decommission needs --admin <host:port>');
        const flags = { ...own, admin: address };
        await adminCall(
          flags.admin,
          flags.cancel ? 'DELETE' : 'POST',
          `/v1/brokers/${brokerId}/decommission`,
        );
        io.stdout.write(
          flags.cancel
            ? `broker ${brokerId} is no longer decommissioning\n`
            : `broker ${brokerId} is decommissioning: its replicas are moving (goqueue cluster --admin ${flags.admin} shows progress)\n`,
        );
      }),
    );

  registerClusterAdminCommands(cluster, io);
}

async function adminCall<T>(address: string, method: string, path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`http://${address}${path}`, { method, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new CommandError(`cannot reach the admin listener at ${address}: ${(error as Error).message}`, 1);
  }
  const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
  if (!response.ok)
    throw new CommandError(`${body.error ?? response.status}: ${body.message ?? response.statusText}`, 1);
  return body as T;
}

function formatStatus(status: ClusterStatus): string {
  const lines = [`controller ${status.controllerId}`];
  // Older controller leaders (before the voter role moved) do not send it.
  if (status.controllerGroup !== undefined) {
    const { voters, learners, step } = status.controllerGroup;
    lines.push(
      `controller voters ${voters.join(',') || '-'}, learners ${learners.join(',') || '-'}${step === 'none' ? '' : ` (${step})`}`,
    );
  }
  lines.push(
    table(
      ['BROKER', 'HOST', 'PORT', 'RACK', 'STATE', 'REPLICAS', 'LEADERS'],
      status.brokers.map((b) => [b.brokerId, b.host, b.port, b.rack ?? '-', b.state, b.replicas, b.leaders]),
    ),
  );
  const partitionName = (item: { topic: string; partition: number }) => `${item.topic}-${item.partition}`;
  lines.push('', `moves in progress: ${status.moves.length}`);
  if (status.moves.length > 0)
    lines.push(
      table(
        ['PARTITION', 'REPLICAS', 'LEARNERS', 'TARGET', 'STEP'],
        status.moves.map((move) => [
          partitionName(move),
          move.replicas.join(','),
          move.learners.join(',') || '-',
          move.target.join(','),
          move.step,
        ]),
      ),
    );
  lines.push('', `under-replicated partitions: ${status.underReplicated.length}`);
  for (const item of status.underReplicated)
    lines.push(
      `  ${partitionName(item)} replicas ${item.replicas.join(',')} live ${item.live.join(',') || '-'}`,
    );
  lines.push(`offline partitions: ${status.offline.length}`);
  for (const item of status.offline)
    lines.push(`  ${partitionName(item)} replicas ${item.replicas.join(',')}`);
  if (status.blocked.length > 0) {
    lines.push(`blocked moves: ${status.blocked.length}`);
    for (const item of status.blocked) lines.push(`  ${partitionName(item)}: ${item.reason}`);
  }
  const { movesStarted, movesCompleted, leaderTransfers, leaderTakeOversAsked, balanceMovesStarted } =
    status.counters;
  lines.push(
    `since this controller leader took over: ${movesStarted} moves started (${balanceMovesStarted ?? 0} to balance replicas), ${movesCompleted} completed, ${leaderTransfers} leadership transfers, ${leaderTakeOversAsked ?? 0} take-overs of fenced leaders' partitions asked`,
  );
  return `${lines.join('\n')}\n`;
}
