import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const nodeMain = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'node-main.ts');

interface Status {
  role: string;
  leader: number;
  term: number;
  commit: number;
  lastIndex: number;
  highWatermark: number;
}

/** One node process and its JSON-lines control channel. */
class NodeProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<number>;
  private nextRequest = 1;
  private readonly waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  readonly exited: Promise<void>;
  stderr = '';

  constructor(
    readonly id: number,
    dataDir: string,
    port: number,
    peers: Record<string, number>,
  ) {
    const config = JSON.stringify({ id, dataDir, port, voters: [1, 2, 3], peers });
    this.child = spawn(process.execPath, ['--import=tsx', nodeMain, config], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    let announced: (port: number) => void = () => {};
    this.ready = new Promise((resolve, reject) => {
      announced = resolve;
      this.child.once('exit', (code) =>
        reject(new Error(`node ${id} exited (${code}) before ready: ${this.stderr}`)),
      );
    });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const message = JSON.parse(line) as Record<string, unknown>;
      if (message.event === 'ready') announced(message.port as number);
      const resolve = this.waiting.get(message.req as number);
      if (resolve !== undefined) {
        this.waiting.delete(message.req as number);
        resolve(message);
      }
    });
  }

  request(op: string, fields: object = {}): Promise<Record<string, unknown>> {
    const req = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.waiting.set(req, resolve);
      this.child.stdin?.write(`${JSON.stringify({ req, op, ...fields })}\n`, (error) => {
        if (error) reject(error);
      });
    });
  }

  async status(): Promise<{ status: Status; values: string[] }> {
    const reply = await this.request('status');
    return { status: reply.status as Status, values: reply.values as string[] };
  }

  async propose(values: string[]): Promise<Record<string, unknown>> {
    return await this.request('propose', { values });
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function findLeader(nodes: NodeProcess[]): Promise<NodeProcess | undefined> {
  const statuses = await Promise.all(nodes.map((n) => n.status()));
  const leaders = nodes.filter((_, i) => statuses[i]?.status.role === 'leader');
  // A deposed leader may still think it leads for a moment; take the one of the highest term.
  leaders.sort(
    (a, b) => (statuses[nodes.indexOf(b)]?.status.term ?? 0) - (statuses[nodes.indexOf(a)]?.status.term ?? 0),
  );
  return leaders[0];
}

async function proposeAtLeader(nodes: NodeProcess[], values: string[]): Promise<void> {
  // A proposal can race a leadership change; retry at whoever leads then.
  await eventually(async () => {
    const leader = await findLeader(nodes);
    if (leader === undefined) return undefined;
    const reply = await leader.propose(values);
    return reply.ok === true ? true : undefined;
  }, `commit of ${values[0]}...`);
}

async function allApplied(nodes: NodeProcess[], expected: string[], what: string): Promise<void> {
  await eventually(async () => {
    const statuses = await Promise.all(nodes.map((n) => n.status()));
    return statuses.every((s) => s.values.length >= expected.length) ? true : undefined;
  }, what);
}

test('three node processes over loopback TCP elect, commit, survive kill -9 of the leader, and the killed node catches up from its disk', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-three-processes-'));
  const dataDir = (id: number) => join(root, `node-${id}`);
  let nodes: NodeProcess[] = [1, 2, 3].map((id) => new NodeProcess(id, dataDir(id), 0, {}));
  try {
    const ports = await Promise.all(nodes.map((n) => n.ready));
    const peerPorts = Object.fromEntries(ports.map((port, i) => [String(i + 1), port]));
    await Promise.all(nodes.map((n) => n.request('peers', { peers: peerPorts })));

    // 1. A leader is elected and commits.
    const first = Array.from({ length: 40 }, (_, i) => `before-${i}`);
    for (let i = 0; i < first.length; i += 10) await proposeAtLeader(nodes, first.slice(i, i + 10));
    await allApplied(nodes, first, 'every replica applied the first entries');
    for (const node of nodes)
      t.deepEqual((await node.status()).values, first, `node ${node.id} applied in order`);

    // 2. The leader is killed with SIGKILL; the survivors elect a new one and commit again.
    const oldLeader = (await findLeader(nodes)) as NodeProcess;
    const oldTerm = (await oldLeader.status()).status.term;
    await oldLeader.kill();
    const survivors = nodes.filter((n) => n !== oldLeader);
    const newLeader = await eventually(async () => {
      const leader = await findLeader(survivors);
      if (leader === undefined) return undefined;
      return (await leader.status()).status.term > oldTerm ? leader : undefined;
    }, 'a new leader in a later term');
    t.not(newLeader.id, oldLeader.id);
    const second = Array.from({ length: 30 }, (_, i) => `after-${i}`);
    for (let i = 0; i < second.length; i += 10) await proposeAtLeader(survivors, second.slice(i, i + 10));
    const all = [...first, ...second];
    await allApplied(survivors, all, 'the survivors applied the later entries');
    for (const node of survivors) t.deepEqual((await node.status()).values, all);

    // 3. The killed node restarts from its data dir, first cut off from its peers: what it
    //    holds then came from its own disk.
    const restarted = new NodeProcess(
      oldLeader.id,
      dataDir(oldLeader.id),
      ports[oldLeader.id - 1] as number,
      {},
    );
    nodes = [...survivors, restarted];
    await restarted.ready;
    const fromDisk = await restarted.status();
    t.true(
      fromDisk.status.lastIndex >= first.length + 1,
      `its log kept the ${first.length} entries and the no-op`,
    );
    t.true(fromDisk.status.term >= oldTerm, 'its term survived the crash');
    // Its own log holds the entries; they are applied once a leader confirms the commit index.
    await restarted.request('peers', { peers: peerPorts });
    await allApplied([restarted], all, 'the restarted node caught up');
    t.deepEqual((await restarted.status()).values, all, 'every committed entry, intact and in order, once');

    // 4. The group still commits with all three.
    await proposeAtLeader(nodes, ['final']);
    await allApplied(nodes, [...all, 'final'], 'all three applied the final entry');
    for (const node of nodes) t.deepEqual((await node.status()).values, [...all, 'final']);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
  }
});
