/**
 * Memory and connection limits, on a broker process observed from outside: many connections
 * each sending most of a large frame keep the broker's peak RSS within queued_max_request_bytes
 * plus a documented constant (before: every connection could hold up to max_request_size);
 * slow senders are closed by request_read_timeout, idle ones by connections_max_idle; one
 * address cannot open more than max_connections_per_ip; a garbage stream is logged a few times,
 * not once per connection. The full-size variant (500 connections x 95 MiB) runs with
 * `npm run test:hardening-memory`.
 */
import { connect, type Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { ApiKey } from '../../src/protocol/index.js';
import { RawClient, temporaryDirectory } from '../broker/helpers.js';
import { describeFigures, sendPartialFrames } from './partial-frames.js';
import { logged, type ObservedBroker, startObservedBroker, until } from './process.js';

const MiB = 2 ** 20;

/** A broker process on a fresh data directory with `options`, killed after the test. */
async function startFor(t: ExecutionContext, options: Record<string, unknown>): Promise<ObservedBroker> {
  const broker = await startObservedBroker({
    dataDir: temporaryDirectory(t),
    host: '127.0.0.1',
    port: 0,
    ...options,
  });
  t.teardown(() => broker.kill());
  return broker;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function closedPromise(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

test('50 connections each sending 20 MiB of a frame keep peak RSS under a 32 MiB budget plus the slack', async (t) => {
  const figures = await sendPartialFrames(
    { connections: 50, frameBytes: 20 * MiB, budgetBytes: 32 * MiB },
    (broker) => t.teardown(() => broker.kill()),
  );
  t.log(describeFigures(figures));
  t.true(figures.peakRss <= figures.limit, describeFigures(figures));
  t.true(figures.servedAfterClose);
});

test('slow senders are closed after request_read_timeout; a connection sending whole requests stays', async (t) => {
  const broker = await startFor(t, { logLevel: 'warn', requestReadTimeoutMs: 1000 });
  const healthy = await RawClient.open(broker.port);
  t.teardown(() => healthy.close());
  const started = Date.now();
  const slow: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < 20; i++) {
    const socket = await open(broker.port);
    socket.on('error', () => undefined);
    slow.push(socket);
    // A frame of 10,000 bytes, one byte every 100 ms (slowloris): it would take 1,000 s.
    const header = Buffer.alloc(4);
    header.writeInt32BE(10_000);
    socket.write(header);
    timers.push(setInterval(() => socket.writable && socket.write(Buffer.from([0])), 100));
  }
  t.teardown(() => {
    for (const timer of timers) clearInterval(timer);
  });
  // Meanwhile the healthy connection keeps sending whole requests and is answered.
  let answered = 0;
  const closedAll = Promise.all(slow.map(closedPromise));
  let done = false;
  void closedAll.then(() => {
    done = true;
  });
  while (!done) {
    const response = await healthy.request(ApiKey.Metadata, 1, { topics: null });
    if (Array.isArray(response.body.brokers)) answered++;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.true(Date.now() - started >= 1000, 'no slow connection is closed before its timeout');
  t.true(answered > 0);
  t.false(healthy.closed);
  const warnings = broker.lines.filter((line) => line.msg.includes('request_read_timeout'));
  t.true(
    warnings.length >= 1 && warnings.length < 20,
    `rate-limited: ${warnings.length} lines for 20 closes`,
  );
});

test('an idle connection is closed after connections_max_idle', async (t) => {
  const broker = await startFor(t, { connectionsMaxIdleMs: 500 });
  const client = await RawClient.open(broker.port);
  const response = await client.request(ApiKey.Metadata, 1, { topics: null });
  t.true(Array.isArray(response.body.brokers));
  const answeredAt = Date.now();
  await client.whenClosed();
  t.true(Date.now() - answeredAt >= 500);
});

test('max_connections_per_ip refuses the connection past the limit; a closed one makes room', async (t) => {
  const broker = await startFor(t, { logLevel: 'warn', maxConnectionsPerIp: 3 });
  const clients = await Promise.all([0, 1, 2].map(() => RawClient.open(broker.port)));
  for (const client of clients) await client.request(ApiKey.Metadata, 1, { topics: null });
  const refused = await RawClient.open(broker.port);
  await refused.whenClosed();
  t.true(refused.closed);
  clients[0]!.close();
  let admitted: RawClient | null = null;
  // The broker sees the first close asynchronously: retry until a new connection is served.
  await until(async () => {
    const candidate = await RawClient.open(broker.port);
    const outcome = await Promise.race([
      candidate.request(ApiKey.Metadata, 1, { topics: null }).then(() => 'served'),
      candidate.whenClosed().then(() => 'closed'),
    ]);
    if (outcome === 'served') admitted = candidate;
    return outcome === 'served';
  });
  t.truthy(admitted);
  (admitted as RawClient | null)?.close();
  for (const client of clients) client.close();
  t.true(await logged(broker, (msg) => msg === 'refusing a connection over the connection limit'));
});

test('a garbage stream on 200 connections is logged a few times, each line counting what it left out', async (t) => {
  const broker = await startFor(t, { logLevel: 'warn' });
  const garbage = Buffer.alloc(64, 0xff); // frame size -1: bad input
  const closes: Promise<void>[] = [];
  for (let i = 0; i < 200; i++) {
    const socket = await open(broker.port);
    socket.on('error', () => undefined);
    closes.push(closedPromise(socket));
    socket.write(garbage);
  }
  await Promise.all(closes);
  const lines = broker.lines.filter((line) => line.msg.startsWith('closing connection on bad input'));
  t.true(lines.length >= 1 && lines.length <= 5, `${lines.length} lines for 200 bad connections`);
});
