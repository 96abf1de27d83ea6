/**
 * Real goqueue broker processes on loopback for the fault harness, started with the CLI as a
 * user starts them. Every member's `--initial-cluster` address is its raft proxy's (raft-proxy.ts)
 * and the broker binds its raft listener behind it (TEST_ONLY_GOQUEUE_RAFT_LISTEN), so every raft
 * link between two brokers passes through a proxy the nemesis can cut. Each broker's output is
 * appended to `<runDir>/broker-N.log` across restarts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../broker/free-ports.js';
import { assert } from '../../lib/assert.js';

export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

export type MemberState = 'stopped' | 'running' | 'paused';

export interface Member {
  id: number;
  clientPort: number;
  /** The address peers dial (the proxy's): the one in --initial-cluster. */
  listedRaftPort: number;
  /** Where the broker's raft listener really binds. */
  raftPort: number;
  dataDir: string;
  child: ChildProcess | null;
  exited: Promise<void> | null;
  state: MemberState;
  /** How many times this member was started (restarts included). */
  starts: number;
  /** Set while the harness itself ends the process. */
  ending: boolean;
}

/** A broker process that ended without the harness ending it: a crash. */
export interface UnexpectedExit {
  id: number;
  code: number | null;
  signal: string | null;
  stderr: string;
}

export interface BrokerProcessesOptions {
  count: number;
  runDir: string;
  /** Extra environment for every broker (the planted bug's switch). */
  env?: Record<string, string>;
  extraArgs?: string[];
  /**
   * Default true: peers dial a raft proxy (raft-proxy.ts) at the listed address and the broker
   * binds behind it. False: the broker binds the listed address itself.
   */
  proxied?: boolean;
}

export class BrokerProcesses {
  readonly members = new Map<number, Member>();
  readonly unexpectedExits: UnexpectedExit[] = [];
  private readonly logs = new Map<number, WriteStream>();

  private constructor(private readonly options: BrokerProcessesOptions) {}

  static async create(options: BrokerProcessesOptions): Promise<BrokerProcesses> {
    const processes = new BrokerProcesses(options);
    mkdirSync(options.runDir, { recursive: true });
    for (let id = 1; id <= options.count; id++) {
      const listedRaftPort = await freePort();
      processes.members.set(id, {
        id,
        clientPort: await freePort(),
        listedRaftPort,
        raftPort: options.proxied === false ? listedRaftPort : await freePort(),
        dataDir: join(options.runDir, `broker-${id}`),
        child: null,
        exited: null,
        state: 'stopped',
        starts: 0,
        ending: false,
      });
    }
    return processes;
  }

  get ids(): number[] {
    return [...this.members.keys()];
  }

  member(id: number): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new RangeError(`no broker ${id}`);
    return member;
  }

  get initialCluster(): string {
    return [...this.members.values()].map((m) => `${m.id}=127.0.0.1:${m.listedRaftPort}`).join(',');
  }

  /** Client addresses of every member (running or not: clients find the live ones). */
  bootstrap(): string[] {
    return [...this.members.values()].map((m) => `127.0.0.1:${m.clientPort}`);
  }

  /** Starts broker `id`; resolves once it logs 'broker started'. */
  async start(id: number): Promise<void> {
    const member = this.member(id);
    assert(member.state === 'stopped', `broker ${id} is ${member.state}, not stopped`);
    const args = [
      '--import=tsx',
      join(repositoryRoot, 'src', 'cli', 'main.ts'),
      'broker',
      '--broker-id',
      String(id),
      '--client-addr',
      `127.0.0.1:${member.clientPort}`,
      '--raft-addr',
      `127.0.0.1:${member.listedRaftPort}`,
      '--data-dir',
      member.dataDir,
      '--initial-cluster',
      this.initialCluster,
      '--log-level',
      'info',
      ...(this.options.extraArgs ?? []),
    ];
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env))
      if (!name.startsWith('GOQUEUE_') && !name.startsWith('TEST_ONLY_GOQUEUE_')) env[name] = value;
    Object.assign(env, this.options.env ?? {});
    if (member.raftPort !== member.listedRaftPort)
      env.TEST_ONLY_GOQUEUE_RAFT_LISTEN = `127.0.0.1:${member.raftPort}`;
    const child = spawn(process.execPath, args, {
      cwd: repositoryRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    member.child = child;
    member.starts++;
    member.state = 'running';
    let log = this.logs.get(id);
    if (log === undefined) {
      log = createWriteStream(join(this.options.runDir, `broker-${id}.log`), { flags: 'a' });
      this.logs.set(id, log);
    }
    log.write(`--- start ${member.starts} pid ${child.pid} ---\n`);
    const sink = log;
    let stderr = '';
    let started = false;
    member.exited = new Promise<void>((resolve) => {
      child.once('close', (code, signal) => {
        if (!member.ending && started)
          this.unexpectedExits.push({ id, code, signal, stderr: stderr.slice(-2000) });
        member.ending = false;
        if (member.child === child) {
          member.child = null;
          member.state = 'stopped';
        }
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      let pending = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        sink.write(chunk);
        if (started) return;
        pending += chunk.toString();
        if (pending.includes('"msg":"broker started"')) {
          started = true;
          pending = '';
          resolve();
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        sink.write(chunk);
        stderr = (stderr + chunk.toString()).slice(-4096);
      });
      member.exited?.then(() => {
        if (!started) reject(new Error(`broker ${id} exited before starting: ${stderr.slice(0, 2000)}`));
      });
    });
  }

  /** kill -9; resolves once the process is gone. */
  async kill(id: number): Promise<void> {
    const member = this.member(id);
    const child = member.child;
    if (child === null) return;
    member.ending = true;
    child.kill('SIGKILL');
    await member.exited;
  }

  /** SIGTERM (a clean shutdown); kill -9 after `graceMs`. */
  async stop(id: number, graceMs = 10_000): Promise<void> {
    const member = this.member(id);
    const child = member.child;
    if (child === null) return;
    member.ending = true;
    if (member.state === 'paused') child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await member.exited;
    clearTimeout(timer);
  }

  pause(id: number): void {
    const member = this.member(id);
    if (member.child === null || member.state !== 'running') return;
    member.child.kill('SIGSTOP');
    member.state = 'paused';
  }

  resume(id: number): void {
    const member = this.member(id);
    if (member.child === null || member.state !== 'paused') return;
    member.child.kill('SIGCONT');
    member.state = 'running';
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.stop(id)));
  }

  async killAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.kill(id)));
  }

  async closeLogs(): Promise<void> {
    await Promise.all(
      [...this.logs.values()].map(
        (log) =>
          new Promise<void>((resolve) => {
            log.once('close', resolve);
            log.once('error', () => resolve());
            log.end();
          }),
      ),
    );
    this.logs.clear();
  }
}
