/**
 * Real `goqueue broker` processes on loopback for the cluster benchmarks, started with the CLI as
 * a user would (`goqueue broker --broker-id N --client-addr … --raft-addr … --initial-cluster …`),
 * from this tree or from another checkout of goqueue (`repositoryRoot`, e.g. a git worktree of an
 * older commit, so two versions can be measured in one run). Also: what a benchmark reads about
 * a broker process from the kernel (CPU seconds, resident memory, open files) and about the
 * brokers' raft connections (bytes and segments sent, from `ss`).
 *
 * Not a `.bench.ts` file, so `bench/run.ts` does not run it.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, readLogLines } from '../__test__/cluster-processes/harness.js';
import { Client } from '../src/client/client.js';

export const thisRepository = join(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The checkout whose brokers a benchmark runs unless it names another: BENCH_TREE (e.g. a clean
 * worktree of a commit, built, when this tree holds unfinished work), else this repository.
 */
export const defaultRepository = process.env.BENCH_TREE ?? thisRepository;

/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;
/** Log lines kept per broker for an error message when it fails to start. */
const KEPT_LOG_LINES = 50;

export interface BenchBroker {
  id: number;
  clientPort: number;
  raftPort: number;
  dataDir: string;
  child: ChildProcessWithoutNullStreams | null;
  exited: Promise<void> | null;
  /** The last log lines (JSON parsed), for diagnostics. */
  lines: Array<Record<string, unknown>>;
}

export interface ClusterOptions {
  /** Brokers 1..size. With size 1 no `--initial-cluster` is given: the plain single-node start. */
  size: number;
  /** Checkout whose `src/cli/main.ts` runs (default: `defaultRepository`). */
  repositoryRoot?: string;
  /** Extra `goqueue broker` flags for every member. */
  extraArgs?: string[];
  /** Extra `goqueue broker` flags for one member (its rack, its own config file). */
  memberArgs?: (id: number) => string[];
  /** Extra node flags for every member (e.g. `--cpu-prof` to profile the brokers). */
  nodeArgs?: string[];
  /** Extra environment (GOQUEUE_* config overrides) for every member. */
  env?: Record<string, string>;
  /** A label for the temporary directory. */
  label?: string;
}

export { freePort };

export class ProcessCluster {
  readonly members = new Map<number, BenchBroker>();

  private constructor(
    readonly root: string,
    private readonly options: ClusterOptions,
  ) {}

  static async create(options: ClusterOptions): Promise<ProcessCluster> {
    const root = mkdtempSync(join(tmpdir(), `goqueue-bench-${options.label ?? 'cluster'}-`));
    const cluster = new ProcessCluster(root, options);
    for (let id = 1; id <= options.size; id++)
      cluster.members.set(id, {
        id,
        clientPort: await freePort(),
        raftPort: await freePort(),
        dataDir: join(root, `broker-${id}`),
        child: null,
        exited: null,
        lines: [],
      });
    return cluster;
  }

  member(id: number): BenchBroker {
    const member = this.members.get(id);
    if (member === undefined) throw new RangeError(`no member ${id}`);
    return member;
  }

  private args(id: number): string[] {
    const member = this.member(id);
    const initialCluster = [...this.members.values()].map((m) => `${m.id}=127.0.0.1:${m.raftPort}`).join(',');
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
      ...(this.options.size > 1 ? ['--initial-cluster', initialCluster] : []),
      '--log-level',
      'info',
      ...(this.options.extraArgs ?? []),
      ...(this.options.memberArgs?.(id) ?? []),
    ];
  }

  /** Starts member `id` and resolves once it logs 'broker started'. */
  async start(id: number): Promise<BenchBroker> {
    const member = this.member(id);
    const cwd = this.options.repositoryRoot ?? defaultRepository;
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env))
      if (!name.startsWith('GOQUEUE_')) env[name] = value;
    const child = spawn(
      process.execPath,
      [...(this.options.nodeArgs ?? []), '--import=tsx', 'src/cli/main.ts', ...this.args(id)],
      {
        cwd,
        env: { ...env, ...this.options.env },
      },
    );
    member.child = child;
    member.lines = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    member.exited = new Promise((resolve) => child.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      readLogLines(child.stdout, (line) => {
        member.lines.push(line);
        if (member.lines.length > KEPT_LOG_LINES) member.lines.shift();
        if (line.msg === 'broker started') resolve();
      });
      child.once('close', (code, signal) =>
        reject(new Error(`broker ${id} (${cwd}) exited (${code ?? signal}) before starting: ${stderr}`)),
      );
    });
    return member;
  }

  async startAll(): Promise<void> {
    await Promise.all([...this.members.keys()].map((id) => this.start(id)));
  }

  /** kill -9; resolves once the process is gone. */
  async kill(id: number): Promise<void> {
    const member = this.member(id);
    if (member.child === null) return;
    member.child.kill('SIGKILL');
    await member.exited;
    member.child = null;
  }

  /** SIGTERM (clean stop). */
  async stop(id: number): Promise<void> {
    const member = this.member(id);
    if (member.child === null) return;
    member.child.kill('SIGTERM');
    await member.exited;
    member.child = null;
  }

  /** Stops every member cleanly and removes the data directories. */
  async close(): Promise<void> {
    await Promise.all([...this.members.keys()].map((id) => this.stop(id)));
    rmSync(this.root, { recursive: true, force: true });
  }

  pid(id: number): number {
    const pid = this.member(id).child?.pid;
    if (pid === undefined) throw new Error(`broker ${id} is not running`);
    return pid;
  }

  /** Client addresses ("127.0.0.1:port") of the running members. */
  brokers(): string[] {
    return [...this.members.values()].filter((m) => m.child !== null).map((m) => `127.0.0.1:${m.clientPort}`);
  }

  raftPorts(): number[] {
    return [...this.members.values()].map((m) => m.raftPort);
  }

  /** An SDK client bootstrapped with every running member. */
  client(options: ConstructorParameters<typeof Client>[0] = {}): Client {
    return new Client({ brokers: this.brokers(), clientId: 'bench', ...options });
  }
}

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Resident memory of a process in bytes. */
export function residentBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

export function openFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export interface SocketTotals {
  /** Sockets counted (both ends of each connection are local). */
  sockets: number;
  bytesSent: number;
  /** TCP segments carrying data; one write of a coalesced batch is one segment when it fits. */
  dataSegmentsSent: number;
}

/**
 * Bytes and data segments sent so far on every TCP socket of which one end is one of `ports`
 * (the brokers' raft listeners): the accepting end has the port as its local port, the dialing
 * end as its remote port, so both directions of every raft connection are counted. Counters
 * belong to a socket: a connection that closed between two readings drops out of the sum.
 */
export function raftSocketTotals(ports: number[]): Map<string, SocketTotals> {
  const filter = ports.map((p) => `sport = :${p} or dport = :${p}`).join(' or ');
  const output = execFileSync('ss', ['-tinH', 'state', 'established', `( ${filter} )`], {
    encoding: 'utf8',
  });
  const bySocket = new Map<string, SocketTotals>();
  let current: string | null = null;
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      const columns = line.trim().split(/\s+/);
      current = `${columns[2]}>${columns[3]}`;
      continue;
    }
    if (current === null) continue;
    const bytes = /bytes_sent:(\d+)/.exec(line);
    const segments = /data_segs_out:(\d+)/.exec(line);
    bySocket.set(current, {
      sockets: 1,
      bytesSent: Number(bytes?.[1] ?? 0),
      dataSegmentsSent: Number(segments?.[1] ?? 0),
    });
    current = null;
  }
  return bySocket;
}

/** What the sockets present at both readings sent between them. */
export function socketDelta(
  before: Map<string, SocketTotals>,
  after: Map<string, SocketTotals>,
): SocketTotals {
  const total: SocketTotals = { sockets: 0, bytesSent: 0, dataSegmentsSent: 0 };
  for (const [key, later] of after) {
    const earlier = before.get(key);
    if (earlier === undefined) continue;
    total.sockets++;
    total.bytesSent += later.bytesSent - earlier.bytesSent;
    total.dataSegmentsSent += later.dataSegmentsSent - earlier.dataSegmentsSent;
  }
  return total;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitUntil<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await sleep(50);
  }
}

export function median(values: number[]): number {
  return quantile(values, 0.5);
}

/** The value at fraction `q` of the sorted values (nearest rank). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
