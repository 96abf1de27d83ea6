import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import test from 'ava';
import {
  decodeFrameBody,
  encodeHandshake,
  encodeMessage,
  type Frame,
  FrameDecoder,
  FrameKind,
} from '../../src/cluster/frame.js';
import { type PeerAddress, Transport, type TransportOptions } from '../../src/cluster/transport.js';
import { type NodeId, nodeId } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';

const loopback = { host: '127.0.0.1', port: 0 };

interface Received {
  from: NodeId;
  groupId: number;
  payload: Buffer;
}

function makeTransport(
  id: number,
  options: Partial<TransportOptions> = {},
): { transport: Transport; received: Received[] } {
  const transport = new Transport({
    nodeId: nodeId(id),
    listen: loopback,
    peers: new Map(),
    prng: new Prng(id),
    reconnectBaseMs: 10,
    reconnectMaxMs: 100,
    ...options,
  });
  const received: Received[] = [];
  transport.onMessage((from, groupId, payload) =>
    received.push({ from, groupId, payload: Buffer.from(payload) }),
  );
  return { transport, received };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function pair(options: Partial<TransportOptions> = {}) {
  const a = makeTransport(1, options);
  const b = makeTransport(2, options);
  const addressA = await a.transport.start();
  const addressB = await b.transport.start();
  a.transport.setPeer(nodeId(2), addressB);
  b.transport.setPeer(nodeId(1), addressA);
  await waitFor(() => a.transport.isConnected(nodeId(2)) && b.transport.isConnected(nodeId(1)), 'connection');
  return { a, b, addressA, addressB };
}

const payloadOf = (i: number): Buffer => Buffer.from(`message-${i}`);

test('messages are delivered both ways on one connection, in send order, with their group ids', async (t) => {
  const { a, b } = await pair();
  const count = 2000;
  for (let i = 0; i < count; i++) {
    a.transport.send(nodeId(2), i % 7, payloadOf(i));
    b.transport.send(nodeId(1), 1000 + (i % 3), payloadOf(i));
  }
  await waitFor(() => a.received.length === count && b.received.length === count, 'delivery');
  t.deepEqual(
    b.received.map((m) => [m.from, m.groupId, m.payload.toString()]),
    Array.from({ length: count }, (_, i) => [1, i % 7, `message-${i}`]),
  );
  t.deepEqual(
    a.received.map((m) => [m.from, m.groupId, m.payload.toString()]),
    Array.from({ length: count }, (_, i) => [2, 1000 + (i % 3), `message-${i}`]),
  );
  const statsA = a.transport.stats().peers[0];
  t.is(statsA?.connections, 1, 'a single connection served both directions');
  t.is(b.transport.stats().peers[0]?.connections, 1);
  t.is(a.transport.stats().droppedFrames, 0);
  await Promise.all([a.transport.stop(), b.transport.stop()]);
});

test('every message queued before one flush goes out in a single socket write', async (t) => {
  const { a, b } = await pair({ autoFlush: false });
  const before = a.transport.stats().peers[0]?.writes ?? -1;
  for (let i = 0; i < 500; i++) a.transport.send(nodeId(2), i, payloadOf(i));
  t.is(a.transport.stats().peers[0]?.queuedFrames, 500, 'nothing leaves before the flush');
  a.transport.flush();
  t.is(a.transport.stats().peers[0]?.writes, before + 1);
  t.is(a.transport.stats().peers[0]?.sentFrames, 500);
  await waitFor(() => b.received.length === 500, 'delivery');
  t.deepEqual(
    b.received.map((m) => m.groupId),
    Array.from({ length: 500 }, (_, i) => i),
  );
  await Promise.all([a.transport.stop(), b.transport.stop()]);
});

test('a large payload split across many TCP reads arrives intact', async (t) => {
  const { a, b } = await pair();
  const big = randomBytes(3 * 1024 * 1024 + 17);
  a.transport.send(nodeId(2), 42, big);
  a.transport.send(nodeId(2), 43, Buffer.alloc(0));
  await waitFor(() => b.received.length === 2, 'delivery');
  t.true(b.received[0]?.payload.equals(big));
  t.is(b.received[1]?.groupId, 43);
  t.is(b.received[1]?.payload.length, 0);
  await Promise.all([a.transport.stop(), b.transport.stop()]);
});

test('the dialer reconnects after the accepting peer restarts on the same port', async (t) => {
  const { a, b, addressB } = await pair();
  a.transport.send(nodeId(2), 1, payloadOf(1));
  await waitFor(() => b.received.length === 1, 'first delivery');
  await b.transport.stop();
  await waitFor(() => !a.transport.isConnected(nodeId(2)), 'disconnect noticed');
  // Sent while the peer is down: queued (bounded), delivered after the reconnect.
  a.transport.send(nodeId(2), 2, payloadOf(2));

  const restarted = makeTransport(2, {
    listen: addressB,
    peers: new Map([[nodeId(1), a.transport.address]]),
  });
  await restarted.transport.start();
  await waitFor(() => restarted.received.length === 1, 'delivery after restart');
  t.is(restarted.received[0]?.payload.toString(), 'message-2');
  restarted.transport.send(nodeId(1), 3, payloadOf(3));
  await waitFor(() => a.received.length === 1, 'reply after restart');
  t.is(a.received[0]?.groupId, 3);
  t.is(a.transport.stats().peers[0]?.connections, 2);
  await Promise.all([a.transport.stop(), restarted.transport.stop()]);
});

test('a restarted dialer replaces its old connection at the accepting peer', async (t) => {
  const { a, b, addressA } = await pair();
  await a.transport.stop();
  const restarted = makeTransport(1, {
    listen: addressA,
    peers: new Map([[nodeId(2), b.transport.address]]),
  });
  await restarted.transport.start();
  restarted.transport.send(nodeId(2), 5, payloadOf(5));
  await waitFor(() => b.received.length === 1, 'delivery from the restarted dialer');
  b.transport.send(nodeId(1), 6, payloadOf(6));
  await waitFor(() => restarted.received.length === 1, 'reply to the restarted dialer');
  t.is(restarted.received[0]?.payload.toString(), 'message-6');
  await Promise.all([b.transport.stop(), restarted.transport.stop()]);
});

async function rogue(address: PeerAddress, bytes: Buffer): Promise<'closed'> {
  const socket = connect(address);
  socket.on('error', () => {});
  socket.on('connect', () => socket.write(bytes));
  return await new Promise((resolve) => socket.on('close', () => resolve('closed')));
}

test('garbage, oversized frames and bad handshakes close only the offending connection', async (t) => {
  const { a, b, addressB } = await pair({ maxFrameBytes: 1024 * 1024 });
  const attacks: Buffer[] = [
    randomBytes(4096),
    Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 1]), // 4 GiB length
    Buffer.from([0, 0, 0, 1, 1]), // length below the minimum
    encodeHandshake(nodeId(1), 'another-cluster'),
    encodeHandshake(nodeId(99), 'goqueue'), // unknown node
    encodeHandshake(nodeId(3), 'goqueue').fill(0x41, 6, 10), // bad magic
    encodeMessage(7, Buffer.from('before handshake')),
    Buffer.from([0, 0, 0, 2, 9, 2]), // unsupported version
    Buffer.from([0, 0, 0, 2, 1, 77]), // unknown kind
  ];
  for (const bytes of attacks) t.is(await rogue(addressB, bytes), 'closed');
  t.true(b.transport.stats().badConnections >= attacks.length - 1);
  // The real peer connection is untouched.
  a.transport.send(nodeId(2), 1, payloadOf(1));
  await waitFor(() => b.received.length === 1, 'delivery after the attacks');
  t.is(b.received[0]?.from, nodeId(1));
  t.is(b.transport.stats().peers[0]?.connections, 1);
  // Random byte streams never throw out of the transport.
  const prng = new Prng(5);
  for (let i = 0; i < 30; i++) {
    const bytes = Buffer.from(Array.from({ length: prng.int(1, 300) }, () => prng.int(0, 255)));
    const socket = connect(addressB);
    socket.on('error', () => {});
    socket.on('connect', () => socket.end(bytes));
  }
  a.transport.send(nodeId(2), 2, payloadOf(2));
  await waitFor(() => b.received.length === 2, 'delivery after random bytes');
  await Promise.all([a.transport.stop(), b.transport.stop()]);
});

/** A peer that completes the handshake and then never reads again. */
async function stalledPeer(id: NodeId): Promise<{ server: Server; address: PeerAddress; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.once('data', () => {
      socket.write(encodeHandshake(id, 'goqueue'));
      socket.pause();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('no address');
  return { server, address: { host: '127.0.0.1', port: bound.port }, sockets };
}

test('a stalled peer makes the queue drop its oldest frames instead of growing or blocking', async (t) => {
  const stalled = await stalledPeer(nodeId(2));
  const maxQueueBytes = 1024 * 1024;
  const maxSocketBufferBytes = 256 * 1024;
  const { transport } = makeTransport(1, {
    peers: new Map([[nodeId(2), stalled.address]]),
    maxQueueBytes,
    maxSocketBufferBytes,
  });
  await transport.start();
  await waitFor(() => transport.isConnected(nodeId(2)), 'handshake with the stalled peer');
  const payload = Buffer.alloc(64 * 1024, 7);
  let maxQueued = 0;
  let maxSocketBuffered = 0;
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < 10; i++) t.true(transport.send(nodeId(2), round, payload));
    transport.flush();
    const peer = transport.stats().peers[0];
    maxQueued = Math.max(maxQueued, peer?.queuedBytes ?? 0);
    maxSocketBuffered = Math.max(maxSocketBuffered, peer?.socketBufferedBytes ?? 0);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const stats = transport.stats();
  const sent = 200 * 10 * payload.length; // 128 MiB offered
  t.true(stats.droppedFrames > 0, 'frames were dropped');
  t.true(maxQueued <= maxQueueBytes, `queue stayed within its cap (max ${maxQueued})`);
  t.true(
    maxSocketBuffered <= maxSocketBufferBytes + maxQueueBytes,
    `socket buffer stayed bounded (max ${maxSocketBuffered})`,
  );
  t.true((stats.peers[0]?.sentBytes ?? 0) < sent / 4, 'most of the offered bytes never reached the socket');
  await transport.stop();
  for (const socket of stalled.sockets) socket.destroy();
  await new Promise((resolve) => stalled.server.close(resolve));
});

test('sending to an unreachable peer keeps a bounded queue and never throws', async (t) => {
  const { transport } = makeTransport(1, {
    peers: new Map([[nodeId(2), { host: '127.0.0.1', port: 1 }]]),
    maxQueueFrames: 100,
  });
  await transport.start();
  for (let i = 0; i < 1000; i++) transport.send(nodeId(2), i, payloadOf(i));
  const peer = transport.stats().peers[0];
  t.is(peer?.queuedFrames, 100);
  t.is(peer?.droppedFrames, 900);
  t.false(transport.send(nodeId(9), 1, payloadOf(1)), 'an unknown peer is refused');
  await transport.stop();
});

test('frames cut at arbitrary byte boundaries decode to the same frames', (t) => {
  const prng = new Prng(3);
  const frames = Array.from({ length: 200 }, (_, i) => ({
    groupId: prng.int(0, 2 ** 32 - 1),
    payload: Buffer.from(Array.from({ length: prng.int(0, 300) }, () => prng.int(0, 255))),
    i,
  }));
  const stream = Buffer.concat([
    encodeHandshake(nodeId(4), 'goqueue'),
    ...frames.map((f) => encodeMessage(f.groupId, f.payload)),
  ]);
  for (let round = 0; round < 20; round++) {
    const decoder = new FrameDecoder(1 << 20);
    const decoded: Frame[] = [];
    for (let at = 0; at < stream.length; ) {
      const end = Math.min(stream.length, at + prng.int(1, 64));
      for (const body of decoder.push(stream.subarray(at, end))) decoded.push(decodeFrameBody(body));
      at = end;
    }
    t.is(decoder.pendingBytes, 0);
    t.deepEqual(decoded[0], { kind: FrameKind.Handshake, nodeId: nodeId(4), clusterId: 'goqueue' });
    t.deepEqual(
      decoded
        .slice(1)
        .map((f) => (f.kind === FrameKind.Message ? [f.groupId, f.payload.toString('hex')] : null)),
      frames.map((f) => [f.groupId, f.payload.toString('hex')]),
    );
  }
});

test('a peer that disconnects is reported once to the disconnect handlers', async (t) => {
  const { a, b } = await pair();
  const reported: number[] = [];
  a.transport.onPeerDisconnected((peer) => reported.push(peer));
  await b.transport.stop();
  await waitFor(() => reported.length === 1, 'the report');
  t.deepEqual(reported, [2]);
  await a.transport.stop();
});
