/**
 * TCP transport between brokers on the raft port (DESIGN decision 6): one connection per broker
 * pair carries every Raft group's messages, each frame naming its group.
 *
 * Rules (docs/cluster.md explains why):
 * - The broker with the lower NodeId dials; the higher one accepts. Both send on the one socket
 *   once the handshake (frame version, NodeId, cluster id) has been exchanged.
 * - `send` never blocks and never throws for a slow or absent peer: it appends an encoded frame
 *   to that peer's bounded queue. When the queue is full the OLDEST frames are dropped and
 *   counted: Raft re-sends what matters, and newer messages supersede older ones.
 * - `flush` writes every queued frame of a peer in one corked write (one writev). Sends made in
 *   the same macrotask are coalesced by an automatic flush on `setImmediate`. A peer whose socket
 *   already buffers `maxSocketBufferBytes` is skipped until its socket drains, so memory stays
 *   bounded by queue + socket caps.
 * - Messages between one pair arrive in the order they were sent; across a reconnect some may
 *   be lost, never reordered or duplicated by the transport.
 * - A dialer reconnects with exponential backoff and jitter drawn from the injected Prng.
 * - A malformed frame, a wrong cluster id or an unknown peer closes that connection only.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { NodeId } from '../lib/ids.js';
import type { Prng } from '../lib/prng.js';
import {
  CLUSTER_ID_MAX_BYTES,
  decodeFrameBody,
  encodeHandshake,
  encodeMessage,
  FrameDecoder,
  FrameError,
  FrameKind,
  messageFrameBytes,
} from './frame.js';
import type { RaftTransport } from './raft-transport.js';

export interface PeerAddress {
  host: string;
  port: number;
}

/** The subset of a pino logger the transport uses. */
export interface TransportLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface TransportOptions {
  nodeId: NodeId;
  listen: PeerAddress;
  /** Every other broker this one talks to (may be changed later with setPeer/removePeer). */
  peers: Map<NodeId, PeerAddress>;
  prng: Prng;
  logger?: TransportLogger;
  /** Both ends must agree; a handshake naming another cluster is refused. */
  clusterId?: string;
  /** Largest frame accepted or sent. Default 64 MiB. */
  maxFrameBytes?: number;
  /** Per-peer queue caps; beyond them the oldest frames are dropped. Default 64 MiB / 16384. */
  maxQueueBytes?: number;
  maxQueueFrames?: number;
  /** Stop writing to a socket holding this many unsent bytes until it drains. Default 8 MiB. */
  maxSocketBufferBytes?: number;
  /** Reconnect backoff: base * 2^attempt capped at max, times a jitter in [0.5, 1). */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** A connection that has not completed its handshake by then is closed. Default 5 s. */
  handshakeTimeoutMs?: number;
  /** Flush automatically on setImmediate after a send (default true). */
  autoFlush?: boolean;
  /**
   * Answers a broker that is not a member yet and asks to join (`requestJoin`): called with its
   * node id and request body, resolves with the reply body. Without it joiners are refused.
   */
  onJoinRequest?: (nodeId: NodeId, body: Buffer) => Promise<Buffer>;
}

/** Handshake cluster id a joining broker sends: it does not know the cluster's id yet. */
export const JOIN_CLUSTER_ID = '\u0000join';

export type MessageHandler = (from: NodeId, groupId: number, payload: Buffer) => void;
export type PeerHandler = (peer: NodeId) => void;

export interface PeerStats {
  nodeId: NodeId;
  connected: boolean;
  queuedFrames: number;
  queuedBytes: number;
  /** Bytes written but still held in user space by the socket (bounded by maxSocketBufferBytes + one flush). */
  socketBufferedBytes: number;
  sentFrames: number;
  sentBytes: number;
  /** Writes issued to the socket (one per flush with pending frames). */
  writes: number;
  receivedFrames: number;
  receivedBytes: number;
  droppedFrames: number;
  droppedBytes: number;
  /** Handshakes completed with this peer (1 + reconnections). */
  connections: number;
}

export interface TransportStats {
  nodeId: NodeId;
  peers: PeerStats[];
  droppedFrames: number;
  sentFrames: number;
  receivedFrames: number;
  /** Connections closed for a malformed frame or a refused handshake. */
  badConnections: number;
  /** Frames whose handler threw. */
  handlerErrors: number;
}

const silentLogger: TransportLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** A FIFO of encoded frames with O(1) shift, bounded by frame count and bytes. */
class FrameQueue {
  private frames: Buffer[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.frames.length - this.head;
  }

  push(frame: Buffer): void {
    this.frames.push(frame);
    this.bytes += frame.length;
  }

  shift(): Buffer | undefined {
    if (this.head >= this.frames.length) return undefined;
    const frame = this.frames[this.head] as Buffer;
    this.frames[this.head] = EMPTY;
    this.head++;
    this.bytes -= frame.length;
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return frame;
  }

  takeAll(): Buffer[] {
    const all = this.head === 0 ? this.frames : this.frames.slice(this.head);
    this.frames = [];
    this.head = 0;
    this.bytes = 0;
    return all;
  }
}

const EMPTY = Buffer.alloc(0);

/** One connection (inbound or outbound) and its decoding state. */
interface Connection {
  socket: Socket;
  decoder: FrameDecoder;
  /** Set once the peer's handshake has been accepted. */
  peer: NodeId | null;
  outbound: boolean;
  /** Outbound only: the peer this socket was dialed for. */
  target: Peer | null;
  handshakeTimer: NodeJS.Timeout | null;
  /** Set while an inbound connection from a joining broker awaits its one request. */
  joiner?: NodeId | undefined;
}

class Peer {
  address: PeerAddress;
  readonly queue = new FrameQueue();
  /** The handshaken connection frames are written to. */
  active: Connection | null = null;
  /** Dialer only: the connection being set up. */
  dialing: Connection | null = null;
  reconnectAttempt = 0;
  reconnectTimer: NodeJS.Timeout | null = null;
  removed = false;
  stats: Omit<PeerStats, 'nodeId' | 'connected' | 'queuedFrames' | 'queuedBytes' | 'socketBufferedBytes'> = {
    sentFrames: 0,
    sentBytes: 0,
    writes: 0,
    receivedFrames: 0,
    receivedBytes: 0,
    droppedFrames: 0,
    droppedBytes: 0,
    connections: 0,
  };

  constructor(
    readonly id: NodeId,
    address: PeerAddress,
  ) {
    this.address = address;
  }
}

export class Transport implements RaftTransport {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  private readonly listenAddress: PeerAddress;
  private readonly prng: Prng;
  private readonly logger: TransportLogger;
  private readonly maxFrameBytes: number;
  private readonly maxQueueBytes: number;
  private readonly maxQueueFrames: number;
  private readonly maxSocketBufferBytes: number;
  private readonly reconnectBaseMs: number;
  private readonly reconnectMaxMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly onJoinRequest: ((nodeId: NodeId, body: Buffer) => Promise<Buffer>) | undefined;
  private readonly autoFlush: boolean;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly connections = new Set<Connection>();
  private readonly handlers: MessageHandler[] = [];
  private readonly disconnectHandlers: PeerHandler[] = [];
  private server: Server | null = null;
  private boundAddress: PeerAddress | null = null;
  private flushScheduled = false;
  private stopped = false;
  private started = false;
  private badConnections = 0;
  private handlerErrors = 0;

  constructor(options: TransportOptions) {
    this.nodeId = options.nodeId;
    this.clusterId = options.clusterId ?? 'goqueue';
    if (Buffer.byteLength(this.clusterId) > CLUSTER_ID_MAX_BYTES)
      throw new RangeError(`clusterId is longer than ${CLUSTER_ID_MAX_BYTES} bytes`);
    this.listenAddress = options.listen;
    this.prng = options.prng;
    this.logger = options.logger ?? silentLogger;
    this.maxFrameBytes = options.maxFrameBytes ?? 64 * 1024 * 1024;
    this.maxQueueBytes = options.maxQueueBytes ?? 64 * 1024 * 1024;
    this.maxQueueFrames = options.maxQueueFrames ?? 16384;
    this.maxSocketBufferBytes = options.maxSocketBufferBytes ?? 8 * 1024 * 1024;
    this.reconnectBaseMs = options.reconnectBaseMs ?? 50;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 2000;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5000;
    this.onJoinRequest = options.onJoinRequest;
    this.autoFlush = options.autoFlush ?? true;
    for (const [id, address] of options.peers) {
      if (id !== this.nodeId) this.peers.set(id, new Peer(id, address));
    }
  }

  /** The bound raft listener (its real port when `listen.port` was 0). */
  get address(): PeerAddress {
    if (this.boundAddress === null) throw new Error('transport is not started');
    return this.boundAddress;
  }

  /** Listens and starts dialing every peer with a higher NodeId. */
  async start(): Promise<PeerAddress> {
    if (this.started) throw new Error('transport already started');
    this.started = true;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenAddress.port, this.listenAddress.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.error({ err: error }, 'raft listener error'));
    const bound = server.address();
    if (bound === null || typeof bound === 'string') throw new Error('raft listener has no TCP address');
    this.boundAddress = { host: bound.address, port: bound.port };
    for (const peer of this.peers.values()) if (this.dialsTo(peer.id)) this.dial(peer);
    this.logger.info({ nodeId: this.nodeId, address: this.boundAddress }, 'raft transport listening');
    return this.boundAddress;
  }

  /** Adds a peer or changes its address (the current connection to it is closed). */
  setPeer(id: NodeId, address: PeerAddress): void {
    if (id === this.nodeId) return;
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      if (existing.address.host === address.host && existing.address.port === address.port) return;
      existing.address = address;
      existing.reconnectAttempt = 0;
      if (this.dialsTo(id) && this.started && !this.stopped) {
        this.dropConnections(existing);
        this.dial(existing);
      }
      return;
    }
    const peer = new Peer(id, address);
    this.peers.set(id, peer);
    if (this.dialsTo(id) && this.started && !this.stopped) this.dial(peer);
  }

  /** Forgets a peer: closes its connection and discards its queue. */
  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    peer.removed = true;
    this.peers.delete(id);
    this.dropConnections(peer);
    peer.queue.takeAll();
  }

  onMessage(handler: MessageHandler): void {
    this.handlers.push(handler);
  }

  /** Called when the handshaken connection to a peer closes (Raft: report it unreachable). */
  onPeerDisconnected(handler: PeerHandler): void {
    this.disconnectHandlers.push(handler);
  }

  /**
   * Queues `payload` for group `groupId` on peer `to`. Never blocks; a full queue drops its
   * oldest frames. Returns false when the frame was not queued (unknown peer or stopped).
   */
  send(to: NodeId, groupId: number, payload: Buffer): boolean {
    const peer = this.peers.get(to);
    if (peer === undefined || this.stopped) return false;
    const frameBytes = messageFrameBytes(payload.length);
    if (frameBytes - 4 > this.maxFrameBytes)
      throw new RangeError(`message of ${payload.length} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`);
    if (frameBytes > this.maxQueueBytes) {
      peer.stats.droppedFrames++;
      peer.stats.droppedBytes += frameBytes;
      return false;
    }
    while (
      peer.queue.length > 0 &&
      (peer.queue.length + 1 > this.maxQueueFrames || peer.queue.bytes + frameBytes > this.maxQueueBytes)
    ) {
      const dropped = peer.queue.shift() as Buffer;
      peer.stats.droppedFrames++;
      peer.stats.droppedBytes += dropped.length;
    }
    peer.queue.push(encodeMessage(groupId, payload));
    if (this.autoFlush && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return true;
  }

  /** Writes every peer's queued frames, one corked write per peer. */
  flush(): void {
    for (const peer of this.peers.values()) this.flushPeer(peer);
  }

  stats(): TransportStats {
    const peers: PeerStats[] = [];
    let droppedFrames = 0;
    let sentFrames = 0;
    let receivedFrames = 0;
    for (const peer of this.peers.values()) {
      peers.push({
        nodeId: peer.id,
        connected: peer.active !== null,
        queuedFrames: peer.queue.length,
        queuedBytes: peer.queue.bytes,
        socketBufferedBytes: peer.active?.socket.writableLength ?? 0,
        ...peer.stats,
      });
      droppedFrames += peer.stats.droppedFrames;
      sentFrames += peer.stats.sentFrames;
      receivedFrames += peer.stats.receivedFrames;
    }
    return {
      nodeId: this.nodeId,
      peers,
      droppedFrames,
      sentFrames,
      receivedFrames,
      badConnections: this.badConnections,
      handlerErrors: this.handlerErrors,
    };
  }

  /** True when a handshaken connection to `id` is up. */
  isConnected(id: NodeId): boolean {
    return this.peers.get(id)?.active != null;
  }

  /** Closes the listener and every connection; queued frames are discarded. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const peer of this.peers.values()) {
      if (peer.reconnectTimer !== null) clearTimeout(peer.reconnectTimer);
      peer.reconnectTimer = null;
    }
    for (const connection of [...this.connections]) this.closeConnection(connection);
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private dialsTo(id: NodeId): boolean {
    return this.nodeId < id;
  }

  private flushPeer(peer: Peer): void {
    const connection = peer.active;
    if (connection === null || peer.queue.length === 0) return;
    const socket = connection.socket;
    if (socket.writableLength >= this.maxSocketBufferBytes) return; // resumed on 'drain'
    const frames = peer.queue.takeAll();
    socket.cork();
    let bytes = 0;
    for (const frame of frames) {
      socket.write(frame);
      bytes += frame.length;
    }
    socket.uncork();
    peer.stats.sentFrames += frames.length;
    peer.stats.sentBytes += bytes;
    peer.stats.writes++;
  }

  private dial(peer: Peer): void {
    if (this.stopped || peer.removed || peer.dialing !== null || peer.active !== null) return;
    if (peer.reconnectTimer !== null) {
      clearTimeout(peer.reconnectTimer);
      peer.reconnectTimer = null;
    }
    const socket = tcpConnect({ host: peer.address.host, port: peer.address.port });
    const connection = this.track(socket, peer);
    peer.dialing = connection;
    socket.once('connect', () => {
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      socket.write(encodeHandshake(this.nodeId, this.clusterId));
    });
  }

  private scheduleReconnect(peer: Peer): void {
    if (this.stopped || peer.removed || peer.reconnectTimer !== null) return;
    const ceilingMs = Math.min(this.reconnectMaxMs, this.reconnectBaseMs * 2 ** peer.reconnectAttempt);
    const delayMs = Math.round(ceilingMs * (0.5 + this.prng.nextFloat() * 0.5));
    peer.reconnectAttempt = Math.min(peer.reconnectAttempt + 1, 30);
    peer.reconnectTimer = setTimeout(() => {
      peer.reconnectTimer = null;
      this.dial(peer);
    }, delayMs);
    peer.reconnectTimer.unref();
  }

  private accept(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    this.track(socket, null);
  }

  private track(socket: Socket, target: Peer | null): Connection {
    const outbound = target !== null;
    const connection: Connection = {
      socket,
      decoder: new FrameDecoder(this.maxFrameBytes),
      peer: null,
      outbound,
      target,
      handshakeTimer: null,
    };
    this.connections.add(connection);
    connection.handshakeTimer = setTimeout(() => {
      connection.handshakeTimer = null;
      if (connection.peer === null) this.reject(connection, 'handshake timed out');
    }, this.handshakeTimeoutMs);
    connection.handshakeTimer.unref();
    socket.on('data', (chunk: Buffer) => this.receive(connection, chunk));
    socket.on('error', (error) => {
      this.logger.debug({ err: error, peer: connection.peer, outbound }, 'raft connection error');
    });
    socket.on('close', () => this.onClose(connection));
    socket.on('drain', () => {
      if (connection.peer !== null) {
        const peer = this.peers.get(connection.peer);
        if (peer !== undefined && peer.active === connection) this.flushPeer(peer);
      }
    });
    return connection;
  }

  private receive(connection: Connection, chunk: Buffer): void {
    if (connection.socket.destroyed) return;
    try {
      const bodies = connection.decoder.push(chunk);
      for (const body of bodies) {
        if (connection.socket.destroyed) return;
        const frame = decodeFrameBody(body);
        if (frame.kind === FrameKind.Handshake) {
          this.onHandshake(connection, frame.nodeId, frame.clusterId);
          continue;
        }
        if (connection.joiner !== undefined && connection.peer === null) {
          this.answerJoin(connection, connection.joiner, frame.payload);
          return;
        }
        if (connection.peer === null) throw new FrameError('message frame before the handshake');
        const peer = this.peers.get(connection.peer);
        if (peer === undefined || peer.active !== connection) return;
        peer.stats.receivedFrames++;
        peer.stats.receivedBytes += body.length + 4;
        for (const handler of this.handlers) {
          try {
            handler(connection.peer, frame.groupId, frame.payload);
          } catch (error) {
            this.handlerErrors++;
            this.logger.error(
              { err: error, from: connection.peer, groupId: frame.groupId },
              'raft message handler threw',
            );
          }
        }
      }
    } catch (error) {
      if (error instanceof FrameError) this.reject(connection, error.message);
      else throw error;
    }
  }

  private onHandshake(connection: Connection, remoteId: NodeId, clusterId: string): void {
    if (connection.peer !== null) throw new FrameError('second handshake on one connection');
    if (clusterId === JOIN_CLUSTER_ID && !connection.outbound && this.onJoinRequest !== undefined) {
      // A broker asking to join: one request, one reply, then the connection closes. It never
      // becomes a peer here; it does once the metadata registers it. The handshake timer keeps
      // running: a joiner that does not get its answer in time asks again.
      connection.joiner = remoteId;
      return;
    }
    if (clusterId !== this.clusterId)
      throw new FrameError(`handshake names cluster '${clusterId}', this is '${this.clusterId}'`);
    const peer = this.peers.get(remoteId);
    if (peer === undefined) throw new FrameError(`handshake from unknown node ${remoteId}`);
    if (connection.outbound) {
      if (connection.target !== peer)
        throw new FrameError(`dialed node ${connection.target?.id} but node ${remoteId} answered`);
    } else if (this.dialsTo(remoteId)) {
      // Only a lower NodeId dials us; anything else is a misconfigured or stale peer.
      throw new FrameError(`node ${remoteId} must accept, not dial, a connection to node ${this.nodeId}`);
    }
    if (connection.handshakeTimer !== null) {
      clearTimeout(connection.handshakeTimer);
      connection.handshakeTimer = null;
    }
    if (connection.outbound) {
      peer.dialing = null;
    } else {
      connection.socket.write(encodeHandshake(this.nodeId, this.clusterId));
      // A new inbound connection from a peer replaces the old one: the peer restarted or
      // lost its connection before we noticed.
      if (peer.active !== null) this.closeConnection(peer.active);
    }
    connection.peer = remoteId;
    peer.active = connection;
    peer.reconnectAttempt = 0;
    peer.stats.connections++;
    this.logger.info({ peer: remoteId, outbound: connection.outbound }, 'raft peer connected');
    this.flushPeer(peer);
  }

  private answerJoin(connection: Connection, joiner: NodeId, body: Buffer): void {
    const handler = this.onJoinRequest;
    connection.joiner = undefined; // one request per connection
    if (handler === undefined) return;
    handler(joiner, body).then(
      (reply) => {
        if (!connection.socket.destroyed) connection.socket.end(encodeMessage(0, reply));
      },
      (error: unknown) => {
        this.logger.warn({ err: error, joiner }, 'join request failed');
        connection.socket.destroy();
      },
    );
  }

  private reject(connection: Connection, reason: string): void {
    this.badConnections++;
    const remote = `${connection.socket.remoteAddress}:${connection.socket.remotePort}`;
    this.logger.warn({ remote, peer: connection.peer, reason }, 'closing raft connection');
    this.closeConnection(connection);
  }

  private closeConnection(connection: Connection): void {
    connection.socket.destroy();
    this.onClose(connection);
  }

  private onClose(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    if (connection.handshakeTimer !== null) clearTimeout(connection.handshakeTimer);
    connection.handshakeTimer = null;
    const peer = connection.peer !== null ? this.peers.get(connection.peer) : connection.target;
    if (peer === undefined || peer === null) return;
    if (peer.active === connection) {
      peer.active = null;
      this.logger.info({ peer: peer.id }, 'raft peer disconnected');
      if (!this.stopped) for (const handler of this.disconnectHandlers) handler(peer.id);
    }
    if (peer.dialing === connection) peer.dialing = null;
    if (connection.outbound && peer.active === null && peer.dialing === null) this.scheduleReconnect(peer);
  }

  private dropConnections(peer: Peer): void {
    for (const connection of [peer.active, peer.dialing])
      if (connection !== null) this.closeConnection(connection);
    if (peer.reconnectTimer !== null) clearTimeout(peer.reconnectTimer);
    peer.reconnectTimer = null;
  }
}

/**
 * Asks the broker at `address` (any member's raft address) to let `nodeId` join: sends the
 * join handshake and `body`, resolves with the reply body (or rejects on close or timeout).
 */
export function requestJoin(
  address: PeerAddress,
  nodeId: NodeId,
  body: Buffer,
  timeoutMs: number,
  maxFrameBytes = 64 * 1024 * 1024,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: address.host, port: address.port });
    const decoder = new FrameDecoder(maxFrameBytes);
    let settled = false;
    const finish = (error: Error | null, reply?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== null) reject(error);
      else resolve(reply as Buffer);
    };
    const timer = setTimeout(
      () => finish(new Error(`no join answer from ${address.host}:${address.port} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('connect', () => {
      socket.write(encodeHandshake(nodeId, JOIN_CLUSTER_ID));
      socket.write(encodeMessage(0, body));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frameBody of decoder.push(chunk)) {
          const frame = decodeFrameBody(frameBody);
          if (frame.kind === FrameKind.Message) finish(null, frame.payload);
        }
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () =>
      finish(new Error(`${address.host}:${address.port} closed the join connection without an answer`)),
    );
  });
}
