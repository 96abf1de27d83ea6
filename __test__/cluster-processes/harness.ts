/**
 * Real goqueue broker processes on loopback, started with the CLI exactly as a user would
 * (`goqueue broker --broker-id N --client-addr … --raft-addr … --initial-cluster …`), for the
 * cluster tests: kill -9, restart, inspect data directories.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExecutionContext } from 'ava';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../../src/broker/free-ports.js';
import { type Finished, finished, repositoryRoot, spawnCli } from '../cli/helpers.js';

/**
 * `goqueue <args>` from the sources, run in `cwd` as a user runs it there: relative config
 * files and data directories resolve against `cwd`, not against the repository.
 */
export function spawnCliIn(args: string[], cwd: string): ChildProcessWithoutNullStreams {
  const tsxLoader = pathToFileURL(createRequire(join(repositoryRoot, 'package.json')).resolve('tsx')).href;
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith('GOQUEUE_')) env[name] = value;
  return spawn(
    process.execPath,
    [`--import=${tsxLoader}`, join(repositoryRoot, 'src', 'cli', 'main.ts'), ...args],
    {
      cwd,
      env,
    },
  );
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface ClusterMember {
  id: number;
  clientPort: number;
  raftPort: number;
  dataDir: string;
  child: ChildProcessWithoutNullStreams | null;
  exit: Promise<Finished> | null;
  lines: LogLine[];
}

/**
 * Calls `onLine` with every JSON log line a broker writes to `stdout` (other lines are skipped).
 * Shared with the benchmarks' process launcher (bench/process-cluster.ts).
 */
export function readLogLines(stdout: NodeJS.ReadableStream, onLine: (line: LogLine) => void): void {
  let pending = '';
  stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue; // not a log line
      }
      onLine(line);
    }
  });
}

export { freePort };

export class ProcessCluster {
  readonly members = new Map<number, ClusterMember>();
  /** Members with ids above this are not in --initial-cluster: they start with --join. */
  founding = Number.POSITIVE_INFINITY;

  private constructor(
    private readonly extraArgs: string[],
    readonly root: string,
  ) {}

  /** `count` members (ids 1..count) in the initial cluster; none started yet. */
  static async create(t: ExecutionContext, count: number, extraArgs: string[] = []): Promise<ProcessCluster> {
    const root = mkdtempSync(join(tmpdir(), 'goqueue-cluster-'));
    const cluster = new ProcessCluster(extraArgs, root);
    for (let id = 1; id <= count; id++)
      cluster.members.set(id, {
        id,
        clientPort: await freePort(),
        raftPort: await freePort(),
        dataDir: join(root, `broker-${id}`),
        child: null,
        exit: null,
        lines: [],
      });
    t.teardown(async () => {
      await cluster.stopAll();
      rmSync(root, { recursive: true, force: true });
    });
    return cluster;
  }

  get initialCluster(): string {
    return [...this.members.values()]
      .filter((m) => m.id <= this.founding)
      .map((m) => `${m.id}=127.0.0.1:${m.raftPort}`)
      .join(',');
  }

  member(id: number): ClusterMember {
    const member = this.members.get(id);
    if (member === undefined) throw new RangeError(`no member ${id}`);
    return member;
  }

  args(id: number): string[] {
    const member = this.member(id);
    return [
      'broker',
      '--broker-id',
      String(id),
      '--client-addr',
      `127.0.0.1:${member.clientPort}`,
      '--raft-addr',
      `127.0.0.1:${member.raftPort}`,
      '--data-dir',
      member.dataDir,
      ...(id <= this.founding
        ? ['--initial-cluster', this.initialCluster]
        : ['--join', `127.0.0.1:${this.member(1).raftPort}`]),
      '--log-level',
      'info',
      ...this.extraArgs,
    ];
  }

  /**
   * Starts member `id` and resolves once it logs 'broker started'; with `cwd`, the process runs
   * there (see spawnCliIn).
   */
  async start(id: number, args = this.args(id), options: { cwd?: string } = {}): Promise<ClusterMember> {
    const member = this.member(id);
    const child = options.cwd === undefined ? spawnCli(args) : spawnCliIn(args, options.cwd);
    member.child = child;
    member.exit = finished(child);
    member.lines = [];
    await new Promise<void>((resolve, reject) => {
      readLogLines(child.stdout, (line) => {
        member.lines.push(line);
        if (line.msg === 'broker started') resolve();
      });
      member.exit?.then((result) =>
        reject(
          new Error(
            `broker ${id} exited (${result.code ?? result.signal}) before starting: ${result.stderr}`,
          ),
        ),
      );
    });
    return member;
  }

  async startAll(): Promise<void> {
    await Promise.all([...this.members.keys()].map((id) => this.start(id)));
  }

  /** kill -9. */
  async kill(id: number): Promise<void> {
    const member = this.member(id);
    if (member.child === null) return;
    member.child.kill('SIGKILL');
    await member.exit;
    member.child = null;
  }

  async stop(id: number): Promise<void> {
    const member = this.member(id);
    if (member.child === null) return;
    member.child.kill('SIGTERM');
    await member.exit;
    member.child = null;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.members.keys()].map((id) => this.kill(id)));
  }

  /** Client addresses of the running members. */
  brokers(): string[] {
    return [...this.members.values()].filter((m) => m.child !== null).map((m) => `127.0.0.1:${m.clientPort}`);
  }

  kafka(clientId = 'cluster-test'): Kafka {
    return new Kafka({
      clientId,
      brokers: this.brokers(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
      connectionTimeout: 2000,
    });
  }
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
