/**
 * Many connections each sending most of a large frame and never the rest: the memory attack of
 * issue "bounded memory". Used by connection-budget.spec.ts (scaled down) and by
 * `npm run test:hardening-memory` (500 connections x 95 MiB).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKey } from '../../src/protocol/index.js';
import { RawClient } from '../broker/helpers.js';
import { memoryBytes, type ObservedBroker, startObservedBroker } from './process.js';

const MiB = 2 ** 20;
/** What the broker may use above its idle RSS besides the budget itself: the connections' own
 * objects and socket reads in flight, V8 and allocator slack. Documented in docs/operations.md
 * (Limits). */
export const RSS_SLACK_BYTES = 64 * MiB;
/** One socket read (64 KiB) per connection may land after the budget is exhausted. */
export const READ_BYTES_PER_CONNECTION = 64 * 1024;

export interface PartialFrameFigures {
  connections: number;
  frameBytes: number;
  budgetBytes: number;
  idleRss: number;
  peakRss: number;
  limit: number;
  sentBytes: number;
  /** A request on a new connection was answered after the senders closed. */
  servedAfterClose: boolean;
}

export function describeFigures(f: PartialFrameFigures): string {
  const m = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
  return `${f.connections} x ${m(f.frameBytes)} partial frames, budget ${m(f.budgetBytes)}: idle RSS ${m(f.idleRss)}, peak ${m(f.peakRss)}, limit ${m(f.limit)} (idle + budget + 64 KiB per connection + ${m(RSS_SLACK_BYTES)}), sent ${m(f.sentBytes)}`;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends a frame header announcing `frameBytes` and then `frameBytes - 1` bytes of it (never the
 * last byte). Writes reuse one buffer, so the sender does not hold what it sends. */
function sendPartialFrame(socket: Socket, frameBytes: number, chunk: Buffer): void {
  const header = Buffer.alloc(4);
  header.writeInt32BE(frameBytes);
  socket.write(header);
  let left = frameBytes - 1;
  while (left > 0) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    socket.write(piece);
    left -= piece.length;
  }
}

/** Runs the attack on a fresh broker process and reports its memory. `started` lets the caller
 * register the broker for cleanup. */
export async function sendPartialFrames(
  options: { connections: number; frameBytes: number; budgetBytes: number },
  started: (broker: ObservedBroker) => void,
): Promise<PartialFrameFigures> {
  const { connections, frameBytes, budgetBytes } = options;
  const dataDir = mkdtempSync(join(tmpdir(), 'goqueue-partial-frames-'));
  const broker = await startObservedBroker({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'warn',
    maxRequestBytes: frameBytes + MiB,
    queuedMaxRequestBytes: budgetBytes,
    requestReadTimeoutMs: 3_600_000,
  });
  started(broker);
  try {
    const probe = await RawClient.open(broker.port);
    await probe.request(ApiKey.Metadata, 1, { topics: null });
    probe.close();
    const idleRss = memoryBytes(broker.pid, 'VmRSS');
    const chunk = Buffer.alloc(MiB, 0x61);
    const sockets: Socket[] = [];
    for (let i = 0; i < connections; i++) {
      const socket = await open(broker.port);
      socket.on('error', () => undefined);
      sockets.push(socket);
      sendPartialFrame(socket, frameBytes, chunk);
    }
    // The broker reads until the budget is exhausted, then stops reading: wait until the
    // senders' bytes stop moving (kernel buffers full, nothing more is read).
    let sentBytes = -1;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const now = sockets.reduce((sum, socket) => sum + socket.bytesWritten - socket.writableLength, 0);
      if (now === sentBytes) break;
      sentBytes = now;
    }
    const peakRss = memoryBytes(broker.pid, 'VmHWM');
    const limit = idleRss + budgetBytes + connections * READ_BYTES_PER_CONNECTION + RSS_SLACK_BYTES;
    // Closing the senders gives the budget back: a request on a new connection is served.
    for (const socket of sockets) socket.destroy();
    const after = await RawClient.open(broker.port);
    const response = await after.request(ApiKey.Metadata, 1, { topics: null });
    after.close();
    const servedAfterClose = Array.isArray(response.body.brokers);
    return { connections, frameBytes, budgetBytes, idleRss, peakRss, limit, sentBytes, servedAfterClose };
  } finally {
    broker.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
