import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';

const nodeMain = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'node-main.ts');
/** Every process replicates these Raft groups through one MultiRaftNode. */
const GROUPS = [1, 2, 3];

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
    const config = JSON.stringify({ id, dataDir, port, voters: [1, 2, 3], groups: GROUPS, peers });
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

  async status(group: number): Promise<{ status: Status; values: string[] }> {
    const reply = await this.request('status');
    return (reply.groups as Record<string, { status: Status; values: string[] }>)[group] as {
      status: Status;
      values: string[];
    };
  }

  async propose(group: number, values: string[]): Promise<Record<string, unknown>> {
    return await this.request('propose', { group, values });
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

async function findLeader(nodes: NodeProcess[], group: number): Promise<NodeProcess | undefined> {
  const statuses = await Promise.all(nodes.map((n) => n.status(group)));
  const leaders = nodes.filter((_, i) => statuses[i]?.status.role === 'leader');
  // A deposed leader may still think it leads for a moment; take the one of the highest term.
  leaders.sort(
    (a, b) => (statuses[nodes.indexOf(b)]?.status.term ?? 0) - (statuses[nodes.indexOf(a)]?.status.term ?? 0),
  );
  return leaders[0];
}

async function proposeAtLeader(nodes: NodeProcess[], group: number, values: string[]): Promise<void> {
  // A proposal can race a leadership change; retry at whoever leads then.
  await eventually(async () => {
    const leader = await findLeader(nodes, group);
    if (leader === undefined) return undefined;
    const reply = await leader.propose(group, values);
    return reply.ok === true ? true : undefined;
  }, `commit of ${values[0]}... in group ${group}`);
}

/** Proposes `values` (prefixed with the group) to every group, ten at a time. */
async function proposeEverywhere(nodes: NodeProcess[], values: string[]): Promise<void> {
  await Promise.all(
    GROUPS.map(async (group) => {
      for (let i = 0; i < values.length; i += 10)
        await proposeAtLeader(
          nodes,
          group,
          values.slice(i, i + 10).map((v) => `g${group}-${v}`),
        );
    }),
  );
}

const inGroup = (group: number, values: string[]) => values.map((v) => `g${group}-${v}`);

async function allApplied(nodes: NodeProcess[], expected: string[], what: string): Promise<void> {
  await eventually(async () => {
    for (const group of GROUPS) {
      const statuses = await Promise.all(nodes.map((n) => n.status(group)));
      if (!statuses.every((s) => s.values.length >= expected.length)) return undefined;
    }
    return true;
  }, what);
}

async function assertValues(t: ExecutionContext, nodes: NodeProcess[], expected: string[], what: string) {
  for (const node of nodes)
    for (const group of GROUPS)
      t.deepEqual(
        (await node.status(group)).values,
        inGroup(group, expected),
        `${what}: node ${node.id}, group ${group}`,
      );
}

test('three broker processes running three Raft groups through one multi-Raft node each, over loopback TCP, elect, commit, survive kill -9 of a leader, and the killed node catches up from its disk', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-three-processes-'));
  const dataDir = (id: number) => join(root, `node-${id}`);
  let nodes: NodeProcess[] = [1, 2, 3].map((id) => new NodeProcess(id, dataDir(id), 0, {}));
  try {
    const ports = await Promise.all(nodes.map((n) => n.ready));
    const peerPorts = Object.fromEntries(ports.map((port, i) => [String(i + 1), port]));
    await Promise.all(nodes.map((n) => n.request('peers', { peers: peerPorts })));

    // 1. Every group elects a leader and commits.
    const first = Array.from({ length: 40 }, (_, i) => `before-${i}`);
    await proposeEverywhere(nodes, first);
    await allApplied(nodes, first, 'every replica applied the first entries');
    await assertValues(t, nodes, first, 'applied in order');

    // 2. Group 1's leader is killed with SIGKILL (with whatever else it led); the survivors
    //    elect new leaders and every group commits again.
    const oldLeader = (await findLeader(nodes, 1)) as NodeProcess;
    const oldTerm = (await oldLeader.status(1)).status.term;
    await oldLeader.kill();
    const survivors = nodes.filter((n) => n !== oldLeader);
    const newLeader = await eventually(async () => {
      const leader = await findLeader(survivors, 1);
      if (leader === undefined) return undefined;
      return (await leader.status(1)).status.term > oldTerm ? leader : undefined;
    }, 'a new leader of group 1 in a later term');
    t.not(newLeader.id, oldLeader.id);
    const second = Array.from({ length: 30 }, (_, i) => `after-${i}`);
    await proposeEverywhere(survivors, second);
    const all = [...first, ...second];
    await allApplied(survivors, all, 'the survivors applied the later entries');
    await assertValues(t, survivors, all, 'survivors');

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
    for (const group of GROUPS) {
      const fromDisk = await restarted.status(group);
      // Index 1 is the bootstrap snapshot; then a no-op and the 40 entries of phase 1 at least.
      t.true(
        fromDisk.status.lastIndex >= first.length + 2,
        `group ${group}: its log kept the ${first.length} entries and the no-op`,
      );
      if (group === 1) t.true(fromDisk.status.term >= oldTerm, 'its term survived the crash');
    }
    // Its own log holds the entries; they are applied once a leader confirms the commit index.
    await restarted.request('peers', { peers: peerPorts });
    await allApplied([restarted], all, 'the restarted node caught up');
    await assertValues(t, [restarted], all, 'every committed entry, intact and in order, once');

    // 4. Every group still commits with all three.
    await proposeEverywhere(nodes, ['final']);
    await allApplied(nodes, [...all, 'final'], 'all three applied the final entry');
    await assertValues(t, nodes, [...all, 'final'], 'final');
    // One PeerBatch frame per flush carried every group's traffic; groups shared sync rounds.
    const stats = (await restarted.request('status')).stats as { batchesReceived: number; logSyncs: number };
    t.true(stats.batchesReceived > 0);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
  }
});
