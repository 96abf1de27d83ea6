/**
 * A TCP proxy in front of one broker's Kafka listener. The broker advertises the proxy's address
 * (`--advertised-addr`), so every client connection to that broker passes through it, and a test
 * decides what reaches the clients: here it can swallow successful answers to Produce requests,
 * as when a leader commits a batch and dies before its answer reaches the producer.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ExecutionContext } from 'ava';
import type { ProcessCluster } from './harness.js';
import { answered } from './requests.js';

const PRODUCE_API_KEY = 0;
/** size (4) + apiKey (2) + apiVersion (2) + correlationId (4). */
const REQUEST_HEADER_BYTES = 12;
/**
 * A non-flexible Produce response (v0-8) up to its first partition's error code: size (4),
 * correlationId (4), topic count (4), topic name (2 + length), partition count (4), partition
 * index (4), error code (2).
 */
function firstPartitionErrorCode(frame: Buffer): number | undefined {
  if (frame.length < 14) return undefined;
  const nameBytes = frame.readInt16BE(12);
  const errorAt = 14 + nameBytes + 8;
  return frame.length >= errorAt + 2 ? frame.readInt16BE(errorAt) : undefined;
}

/** Splits a byte stream into whole Kafka frames (4-byte size prefix included). */
class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    while (this.pending.length >= 4) {
      const frameBytes = 4 + this.pending.readInt32BE(0);
      if (this.pending.length < frameBytes) break;
      frames.push(this.pending.subarray(0, frameBytes));
      this.pending = this.pending.subarray(frameBytes);
    }
    return frames;
  }
}

export class KafkaProxy {
  private readonly connections = new Set<{ client: Socket; upstream: Socket }>();
  private dropping = false;
  private onDropped: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** A proxy on a free loopback port forwarding to 127.0.0.1:`targetPort`. */
  static async start(targetPort: number): Promise<KafkaProxy> {
    const server = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    const proxy = new KafkaProxy(server, port);
    server.on('connection', (client) => proxy.accept(client, targetPort));
    return proxy;
  }

  /**
   * From now on, successful answers to Produce requests are dropped instead of delivered;
   * resolves when the first one has been dropped (for acks=all, its batch is committed).
   */
  dropProduceAnswers(): Promise<void> {
    this.dropping = true;
    return new Promise((resolve) => this.onDropped.push(resolve));
  }

  /** Delivers every answer again. */
  stopDropping(): void {
    this.dropping = false;
  }

  /** Closes every proxied connection (both sides), as a dead broker's connections close. */
  closeConnections(): void {
    for (const { client, upstream } of this.connections) {
      client.destroy();
      upstream.destroy();
    }
    this.connections.clear();
  }

  async close(): Promise<void> {
    this.closeConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    const pair = { client, upstream };
    this.connections.add(pair);
    const produceRequests = new Set<number>();
    const requests = new FrameSplitter();
    const answers = new FrameSplitter();
    client.on('data', (chunk: Buffer) => {
      for (const frame of requests.push(chunk))
        if (frame.length >= REQUEST_HEADER_BYTES && frame.readInt16BE(4) === PRODUCE_API_KEY)
          produceRequests.add(frame.readInt32BE(8));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const frame of answers.push(chunk)) {
        const correlationId = frame.length >= 8 ? frame.readInt32BE(4) : -1;
        const isProduceAnswer = produceRequests.delete(correlationId);
        if (isProduceAnswer && this.dropping && firstPartitionErrorCode(frame) === 0) {
          for (const wake of this.onDropped.splice(0)) wake();
          continue;
        }
        client.write(frame);
      }
    });
    const end = () => {
      this.connections.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }
}

/**
 * A proxy in front of each member of `cluster` (closed when the test ends) and `start`, which
 * starts a member advertising its proxy, so every client connection to it passes through there.
 */
export async function proxyEachMember(
  t: ExecutionContext,
  cluster: ProcessCluster,
): Promise<{ proxies: Map<number, KafkaProxy>; start(id: number): Promise<unknown> }> {
  const proxies = new Map<number, KafkaProxy>();
  for (const member of cluster.members.values()) {
    const proxy = await KafkaProxy.start(member.clientPort);
    proxies.set(member.id, proxy);
    t.teardown(() => proxy.close());
  }
  const start = (id: number) => {
    const proxy = proxies.get(id);
    if (proxy === undefined) throw new Error(`no proxy in front of broker ${id}`);
    return cluster.start(id, [...cluster.args(id), '--advertised-addr', `127.0.0.1:${proxy.port}`]);
  };
  return { proxies, start };
}

/**
 * Loses the next successful Produce answer of any broker on its way to the client and kills that
 * broker by kill -9 (as when a leader commits a batch and dies before its answer leaves): every
 * proxy is armed, so the broker that answered is the leader even if leadership moved. Resolves
 * with the killed broker's id.
 */
export async function killAfterLostAnswer(
  cluster: ProcessCluster,
  proxies: Map<number, KafkaProxy>,
): Promise<number> {
  const answeredBy = await answered(
    Promise.race([...proxies].map(([id, proxy]) => proxy.dropProduceAnswers().then(() => id))),
    'a successful produce answer',
  );
  for (const proxy of proxies.values()) proxy.stopDropping();
  await cluster.kill(answeredBy);
  proxies.get(answeredBy)?.closeConnections();
  return answeredBy;
}
