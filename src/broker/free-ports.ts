/**
 * Free TCP ports for brokers started on this machine (local clusters, `goqueue dev`, test and
 * fault harnesses). A port is found by binding port 0 and releasing it, so the kernel may hand the
 * same port out again on a later call, to this process or another (on Linux 6, about one bind in
 * thirty among 400 returned a port seen before): two calls made for one cluster (a broker's Kafka
 * port and its Raft port) once got the same number, and that broker refused to start. So:
 * - every port this process hands out is remembered and never handed out again;
 * - the listeners of one call stay open until all its ports are read;
 * - a port handed out is claimed for CLAIM_MS with a file in the system's temporary folder, which
 *   other processes using this module respect: it covers the moment between the release of the
 *   port and the bind of the broker it was meant for (test files run in parallel processes).
 * - ports come from below the kernel's ephemeral range (Linux: ip_local_port_range), from which it
 *   picks the source port of every outgoing connection: a port from that range, released for a
 *   broker not started yet (or restarting), was taken by a client connection in a loaded test run
 *   and the broker's start failed with EADDRINUSE. Where the range cannot be read, the kernel
 *   chooses (port 0).
 * A program that does not use this module may still bind a port before a broker binds it (the
 * broker's start then fails with EADDRINUSE).
 */
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert } from '../lib/assert.js';

/** How long another process leaves a port alone after this one handed it out: long enough for a broker to start. */
const CLAIM_MS = 120_000;

/** Where the claims live: one empty file per claimed port. */
const claimsDir = join(tmpdir(), 'goqueue-port-claims');

/** Claims `port` for this process unless another process claimed it less than CLAIM_MS ago. */
function claim(port: number): boolean {
  const path = join(claimsDir, String(port));
  try {
    mkdirSync(claimsDir, { recursive: true });
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return true; // no claims folder to share: the kernel's word alone
  }
  try {
    if (Date.now() - statSync(path).mtimeMs < CLAIM_MS) return false;
    const now = new Date();
    utimesSync(path, now, now);
    return true;
  } catch {
    return true;
  }
}

/** Ports this process has handed out; never handed out twice. */
const handedOut = new Set<number>();

/** How many ports one call may reject (in use, handed out or claimed) before it gives up. */
const REJECTED_PORTS_MAX = 1_000;

/** The lowest port handed out when the ephemeral range is known (below it: well-known and registered services). */
const LOWEST_PORT = 10_000;

/** Ports `[LOWEST_PORT, first ephemeral port)`, or undefined where that range is unknown or too small. */
const outsideEphemeral: { low: number; high: number } | undefined = (() => {
  try {
    const first = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    return Number.isInteger(first) && first - LOWEST_PORT >= 1_000
      ? { low: LOWEST_PORT, high: first - 1 }
      : undefined;
  } catch {
    return undefined;
  }
})();

/** Listens on `port` (0: the kernel chooses); the bound port, or undefined when it is in use. */
function listen(server: Server, host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      port !== 0 && (error.code === 'EADDRINUSE' || error.code === 'EACCES')
        ? resolve(undefined)
        : reject(error),
    );
    server.listen(port, host, () => {
      const address = server.address();
      assert(typeof address === 'object' && address !== null, 'a TCP listener has an address');
      resolve(address.port);
    });
  });
}

/** A port to try: random below the ephemeral range, or 0 (the kernel's choice). */
function candidate(): number {
  if (outsideEphemeral === undefined) return 0;
  const { low, high } = outsideEphemeral;
  return low + Math.floor(Math.random() * (high - low + 1));
}

/** `count` distinct free TCP ports on `host`, none handed out before by this process. */
export async function freePorts(host: string, count: number): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    let rejected = 0;
    while (ports.length < count) {
      const wanted = candidate();
      let port: number | undefined;
      if (wanted === 0 || !handedOut.has(wanted)) {
        const server = createServer();
        servers.push(server);
        // A rejected port's listener stays open too, so it cannot be offered again in this call.
        port = await listen(server, host, wanted);
      }
      if (port === undefined || handedOut.has(port) || !claim(port)) {
        rejected++;
        if (rejected > REJECTED_PORTS_MAX)
          throw new Error(`no free port on ${host}: ${rejected} tried were in use, handed out or claimed`);
        continue;
      }
      ports.push(port);
    }
    for (const port of ports) handedOut.add(port);
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** One free TCP port on 127.0.0.1 (see freePorts). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts('127.0.0.1', 1);
  assert(port !== undefined, 'freePorts returns the count asked for');
  return port;
}

/** Whether this process has handed out `port` (for tests). */
export function wasHandedOut(port: number): boolean {
  return handedOut.has(port);
}
