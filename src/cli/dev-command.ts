/**
 * `goqueue dev --brokers 3`: a local cluster from one command, each broker its own
 * `goqueue broker` process on free ports (the layout of src/broker/local-cluster.ts). Prints the
 * bootstrap list once every broker listens; Ctrl-C (or SIGTERM) stops them all cleanly and
 * removes the data unless `--data-dir` was given.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import {
  initialClusterOf,
  LOCAL_CLUSTER_BROKERS_MAX,
  type LocalClusterMember,
  planLocalCluster,
  REGISTRATION_TIMEOUT_MS,
} from '../broker/local-cluster.js';
import { Admin } from '../client/admin.js';
import { Client } from '../client/client.js';
import { CommandError, requireNativeModule } from './broker-command.js';

/** Exit code of a usage error (main.ts's EXIT_USAGE; not imported, main imports this file). */
const EXIT_USAGE = 2;

/** How often a starting broker's listener is tried. */
const LISTENER_POLL_MS = 100;

export interface DevOptions {
  brokers: string;
  dataDir?: string;
  host: string;
  logLevel: string;
}

/** Adds `goqueue dev`. */
export function registerDevCommand(program: Command): Command {
  return program
    .command('dev')
    .description(
      'Run a local cluster: N brokers as separate processes on free ports. Prints the bootstrap ' +
        'list; Ctrl-C stops them all.',
    )
    .option('--brokers <count>', `how many brokers, 1 to ${LOCAL_CLUSTER_BROKERS_MAX}`, '3')
    .option(
      '--data-dir <dir>',
      "root of the brokers' data, kept on exit (default: a temporary folder, removed)",
    )
    .option('--host <host>', 'the address every broker listens on', '127.0.0.1')
    .option('--log-level <level>', "the brokers' log level (logs: <data-dir>/broker-<id>.log)", 'info')
    .action(async (options: DevOptions) => {
      await runDev(options);
    });
}

interface DevBroker {
  member: LocalClusterMember;
  child: ChildProcess;
  log: WriteStream;
  /** Resolves with the exit code (or signal) when the process has ended. */
  exited: Promise<string>;
  stderrTail: string;
}

/** Starts the cluster and runs until a signal, or until a broker ends on its own (exit 1). */
export async function runDev(options: DevOptions): Promise<void> {
  const count = Number(options.brokers);
  if (!Number.isInteger(count) || count < 1 || count > LOCAL_CLUSTER_BROKERS_MAX)
    throw new CommandError(
      `--brokers must be a whole number from 1 to ${LOCAL_CLUSTER_BROKERS_MAX}, got "${options.brokers}"`,
      EXIT_USAGE,
    );
  // Every broker would refuse in the same words; say it once, before starting anything.
  await requireNativeModule();

  const keepData = options.dataDir !== undefined;
  const root = keepData ? resolve(options.dataDir!) : mkdtempSync(join(tmpdir(), 'goqueue-dev-'));
  mkdirSync(root, { recursive: true });
  const members = await planLocalCluster({ brokers: count, host: options.host, root });
  const initialCluster = initialClusterOf(members)
    .map((member) => `${member.brokerId}=${hostPort(member.raftHost, member.raftPort)}`)
    .join(',');

  const brokers = members.map((member) => spawnBroker(member, initialCluster, root, options.logLevel));
  // A last resort if this process dies of an uncaught error: no broker outlives it.
  const killAll = (): void => {
    for (const broker of brokers) if (broker.child.exitCode === null) broker.child.kill('SIGKILL');
  };
  process.on('exit', killAll);

  let stopping: Promise<void> | null = null;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      // One SIGTERM each: a broker stops cleanly on the first signal and exits at once on a second.
      for (const broker of brokers) if (broker.child.exitCode === null) broker.child.kill('SIGTERM');
      await Promise.all(brokers.map((broker) => broker.exited));
      await Promise.all(brokers.map((broker) => new Promise((done) => broker.log.end(done))));
      if (!keepData) rmSync(root, { recursive: true, force: true });
    })();
    return stopping;
  };

  let signalled: NodeJS.Signals | null = null;
  const stopped = new Promise<void>((done) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled !== null) {
        process.stderr.write('goqueue dev: second signal, killing the brokers\n');
        killAll();
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      signalled = signal;
      process.stdout.write(`\nstopping ${brokers.length} brokers…\n`);
      void stopAll().then(done);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  // A broker that ends before it is told to: report it and stop the rest.
  const failure = Promise.race(
    brokers.map((broker) =>
      broker.exited.then((how) => ({ broker, how }) as { broker: DevBroker; how: string }),
    ),
  );

  // Ready: every listener accepts and the controller lists every broker (an RF=N topic can be made).
  const bootstrap = members.map((member) => hostPort(member.host, member.clientPort));
  const ready = Promise.all(brokers.map((broker) => started(broker))).then(() =>
    waitForBrokers(bootstrap, { count, timeoutMs: REGISTRATION_TIMEOUT_MS }).then(
      () => null,
      (error: unknown) => ({ error }),
    ),
  );
  const first = await Promise.race([ready, failure, stopped.then(() => 'stopped' as const)]);
  if (first === 'stopped') return finish(stopAll, killAll);
  if (first !== null && 'error' in first) {
    await stopAll();
    process.removeListener('exit', killAll);
    throw new CommandError(`the brokers did not form a cluster: ${(first.error as Error).message}`, 1);
  }
  if (first !== null) return fail(first.broker, first.how, stopAll, killAll);

  printReady(brokers, root, keepData);
  const end = await Promise.race([failure, stopped.then(() => null)]);
  if (end !== null && signalled === null) return fail(end.broker, end.how, stopAll, killAll);
  return finish(stopAll, killAll);
}

async function finish(stopAll: () => Promise<void>, killAll: () => void): Promise<void> {
  await stopAll();
  process.removeListener('exit', killAll);
  process.stdout.write('all brokers stopped\n');
}

async function fail(
  broker: DevBroker,
  how: string,
  stopAll: () => Promise<void>,
  killAll: () => void,
): Promise<never> {
  const log = broker.log.path as string;
  const detail = broker.stderrTail.trim().split('\n').at(-1) ?? '';
  await stopAll();
  process.removeListener('exit', killAll);
  throw new CommandError(
    `broker ${broker.member.brokerId} ended (${how})${detail ? `: ${detail}` : ''}; see ${log}`,
    1,
  );
}

function spawnBroker(
  member: LocalClusterMember,
  initialCluster: string,
  root: string,
  logLevel: string,
): DevBroker {
  // This CLI again, as this process runs it: dist's main.js, or src/cli/main.ts under tsx.
  const extension = extname(fileURLToPath(import.meta.url));
  const mainScript = fileURLToPath(new URL(`./main${extension}`, import.meta.url));
  // Stops the broker if this process dies without stopping it (SIGKILL): see dev-watchdog.ts.
  const watchdog = new URL(`./dev-watchdog${extension}?parent=${process.pid}`, import.meta.url).href;
  const args = [
    ...process.execArgv,
    `--import=${watchdog}`,
    mainScript,
    'broker',
    '--broker-id',
    String(member.brokerId),
    '--client-addr',
    hostPort(member.host, member.clientPort),
    '--raft-addr',
    hostPort(member.host, member.raftPort),
    '--initial-cluster',
    initialCluster,
    '--data-dir',
    member.dataDir,
    '--log-level',
    logLevel,
  ];
  // Its own process group: a terminal's Ctrl-C reaches only `goqueue dev`, which then sends each
  // broker exactly one SIGTERM (a second signal would make a broker exit without a clean stop).
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = createWriteStream(join(root, `broker-${member.brokerId}.log`), { flags: 'a' });
  const broker: DevBroker = {
    member,
    child,
    log,
    stderrTail: '',
    exited: new Promise((done) => {
      child.once('error', (error) => done(error.message));
      child.once('close', (code, signal) => done(code !== null ? `exit code ${code}` : `signal ${signal}`));
    }),
  };
  child.stdout!.pipe(log, { end: false });
  child.stderr!.on('data', (chunk: Buffer) => {
    log.write(chunk);
    broker.stderrTail = (broker.stderrTail + chunk.toString()).slice(-2000);
  });
  return broker;
}

/** How often the cluster's metadata is asked for its brokers while they register. */
const REGISTRATION_POLL_MS = 100;

/**
 * Resolves once the cluster's metadata lists `count` brokers, so that a topic with replication
 * factor `count` can be created at once (a broker listens before its peers have registered).
 * Throws after `timeoutMs`.
 */
async function waitForBrokers(
  bootstrap: readonly string[],
  options: { count: number; timeoutMs: number },
): Promise<void> {
  const client = new Client({ brokers: [...bootstrap] });
  try {
    const admin = new Admin(client);
    const deadlineMs = performance.now() + options.timeoutMs;
    for (;;) {
      const live = await admin.describeCluster({ timeoutMs: 2_000 }).then(
        (cluster) => cluster.brokers.length,
        () => 0,
      );
      if (live >= options.count) return;
      if (performance.now() > deadlineMs)
        throw new Error(`${live} of ${options.count} brokers registered after ${options.timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, REGISTRATION_POLL_MS));
    }
  } finally {
    await client.close();
  }
}

/**
 * Resolves once the broker accepts connections on its Kafka listener (bound at the end of its
 * start, whatever its log level says), or with nothing once its process has ended.
 */
async function started(broker: DevBroker): Promise<void> {
  let ended = false;
  void broker.exited.then(() => {
    ended = true;
  });
  const { host, clientPort } = broker.member;
  while (!ended) {
    const accepted = await new Promise<boolean>((done) => {
      const socket = connect({ host, port: clientPort }, () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (accepted) return;
    await new Promise((done) => setTimeout(done, LISTENER_POLL_MS));
  }
}

function printReady(brokers: readonly DevBroker[], root: string, keepData: boolean): void {
  const lines = [`goqueue dev: ${brokers.length} brokers running (Ctrl-C stops them all)`];
  for (const { member, child } of brokers)
    lines.push(
      `  broker ${member.brokerId}  ${hostPort(member.host, member.clientPort)}  pid ${child.pid}  ` +
        `log ${join(root, `broker-${member.brokerId}.log`)}`,
    );
  lines.push(`bootstrap: ${brokers.map(({ member }) => hostPort(member.host, member.clientPort)).join(',')}`);
  lines.push(`data: ${root}${keepData ? '' : ' (removed on exit)'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
