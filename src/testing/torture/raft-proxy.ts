/**
 * A fault-injecting TCP proxy in front of each broker's raft listener. Peers dial the address in
 * `--initial-cluster`, which is the proxy's; the proxy learns which broker dialed from the first
 * frame (the raft handshake names its node id, docs/cluster.md "Framing") and forwards whole
 * frames both ways. A cut link drops the Message frames going its way (handshakes still pass, so
 * a one-way cut leaves the connection up with traffic flowing the other way); a link cut both
 * ways is also closed, and reconnections are closed after their handshake until it heals, as a
 * network partition looks to the brokers.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

const FRAME_LENGTH_BYTES = 4;
const FRAME_KIND_MESSAGE = 2;
/** length (4) + version (1) + kind (1) + magic "GQRF" (4) + nodeId (4). */
const HANDSHAKE_NODE_ID_AT = 10;

/** Which directed links (from → to) are cut. Shared by every proxy. */
export class LinkCuts {
  private readonly cut = new Set<string>();
  private readonly listeners: Array<(from: number, to: number) => void> = [];

  isCut(from: number, to: number): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  /** Cuts from → to (one way). */
  cutOneWay(from: number, to: number): void {
    this.cut.add(`${from}>${to}`);
    if (this.isCut(to, from)) for (const listener of this.listeners) listener(from, to);
  }

  /** Cuts both ways between every member of `left` and every member of `right`. */
  cutBetween(left: readonly number[], right: readonly number[]): void {
    for (const a of left)
      for (const b of right) {
        this.cutOneWay(a, b);
        this.cutOneWay(b, a);
      }
  }

  healAll(): void {
    this.cut.clear();
  }

  get active(): string[] {
    return [...this.cut].sort();
  }

  /** Called when a link becomes cut both ways (its connections should close). */
  onSevered(listener: (from: number, to: number) => void): void {
    this.listeners.push(listener);
  }
}

class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    while (this.pending.length >= FRAME_LENGTH_BYTES) {
      const frameBytes = FRAME_LENGTH_BYTES + this.pending.readUInt32BE(0);
      if (this.pending.length < frameBytes) break;
      frames.push(this.pending.subarray(0, frameBytes));
      this.pending = this.pending.subarray(frameBytes);
    }
    return frames;
  }
}

interface ProxiedConnection {
  peer: number | null;
  client: Socket;
  upstream: Socket;
}

/** The proxy in front of broker `target`'s raft listener. */
/**
 * Starts one proxy per member of `processes`, at the raft address the others dial, forwarding to
 * where the member binds; pushes each onto `proxies` as it starts (so a caller closes the ones
 * started when a later one fails).
 */
export async function startRaftProxies(
  processes: { ids: number[]; member(id: number): { listedRaftPort: number; raftPort: number } },
  cuts: LinkCuts,
  proxies: RaftProxy[],
): Promise<void> {
  for (const id of processes.ids) {
    const member = processes.member(id);
    proxies.push(
      await RaftProxy.start({
        target: id,
        listenPort: member.listedRaftPort,
        targetPort: member.raftPort,
        cuts,
      }),
    );
  }
}

export class RaftProxy {
  private readonly connections = new Set<ProxiedConnection>();
  droppedFrames = 0;

  private constructor(
    private readonly server: Server,
    readonly target: number,
    private readonly targetPort: number,
    private readonly cuts: LinkCuts,
  ) {
    cuts.onSevered((from, to) => {
      for (const connection of this.connections) {
        const pair = [connection.peer, this.target];
        if (pair.includes(from) && pair.includes(to)) this.closeConnection(connection);
      }
    });
  }

  static async start(options: {
    target: number;
    listenPort: number;
    targetPort: number;
    cuts: LinkCuts;
  }): Promise<RaftProxy> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listenPort, '127.0.0.1', () => resolve());
    });
    const proxy = new RaftProxy(server, options.target, options.targetPort, options.cuts);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  async close(): Promise<void> {
    for (const connection of this.connections) this.closeConnection(connection);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private closeConnection(connection: ProxiedConnection): void {
    this.connections.delete(connection);
    connection.client.destroy();
    connection.upstream.destroy();
  }

  private accept(client: Socket): void {
    client.setNoDelay(true);
    const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
    upstream.setNoDelay(true);
    const connection: ProxiedConnection = { peer: null, client, upstream };
    this.connections.add(connection);
    const outbound = new FrameSplitter();
    const inbound = new FrameSplitter();
    client.on('data', (chunk: Buffer) => {
      for (const frame of outbound.push(chunk)) {
        if (connection.peer === null) {
          connection.peer =
            frame.length >= HANDSHAKE_NODE_ID_AT + 4 ? frame.readUInt32BE(HANDSHAKE_NODE_ID_AT) : -1;
          if (
            this.cuts.isCut(connection.peer, this.target) &&
            this.cuts.isCut(this.target, connection.peer)
          ) {
            this.closeConnection(connection);
            return;
          }
        }
        if (this.drops(frame, connection.peer, this.target)) continue;
        upstream.write(frame);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const frame of inbound.push(chunk)) {
        if (this.drops(frame, this.target, connection.peer ?? -1)) continue;
        client.write(frame);
      }
    });
    const end = (): void => this.closeConnection(connection);
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }

  private drops(frame: Buffer, from: number, to: number): boolean {
    if (frame.length <= 5 || frame[5] !== FRAME_KIND_MESSAGE || !this.cuts.isCut(from, to)) return false;
    this.droppedFrames++;
    return true;
  }
}
