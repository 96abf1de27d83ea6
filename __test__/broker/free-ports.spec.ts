import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { freePort, freePorts } from '../../src/broker/free-ports.js';
import { repositoryRoot } from '../cli/helpers.js';

const execFileAsync = promisify(execFile);

test('freePorts hands out distinct ports in one call', async (t) => {
  const ports = await freePorts('127.0.0.1', 6);
  t.is(new Set(ports).size, 6);
  t.true(ports.every((port) => port > 0));
});

// Bound and released, a port can come back from the kernel on the next call: one broker of a test
// cluster once got the same number for its Kafka and Raft ports and refused to start.
test('freePort never hands out a port twice across calls, although the kernel offers released ports again', async (t) => {
  const ports: number[] = [];
  for (let call = 0; call < 400; call++) ports.push(await freePort());
  t.is(new Set(ports).size, ports.length);
});

// The kernel picks the source port of every outgoing connection from its ephemeral range: a port
// from that range, released for a broker not started yet, was taken by a client's connection in a
// loaded test run, and the broker's start failed with EADDRINUSE.
test('handed-out ports lie below the kernel ephemeral port range, where no outgoing connection takes them', async (t) => {
  let range: string;
  try {
    range = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
  } catch {
    t.pass('no ephemeral port range to read on this system');
    return;
  }
  const low = Number(range.trim().split(/\s+/)[0]);
  if (low - 10_000 < 1_000) {
    t.pass(`the ephemeral range starts at ${low}: too low to leave room below it, so the kernel chooses`);
    return;
  }
  const ports = await freePorts('127.0.0.1', 50);
  t.deepEqual(
    ports.filter((port) => port >= low),
    [],
  );
  t.true(ports.every((port) => port >= 1024));
});

test('a handed-out port is free to bind', async (t) => {
  const port = await freePort();
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  t.pass();
});

// Test files run in parallel processes: a port one of them released for a broker about to start
// must not be handed to another before that broker binds it.
test('another process is not handed the ports this one handed out moments ago', async (t) => {
  const mine: number[] = [];
  for (let call = 0; call < 400; call++) mine.push(await freePort());
  const tsxLoader = pathToFileURL(createRequire(join(repositoryRoot, 'package.json')).resolve('tsx')).href;
  const moduleUrl = pathToFileURL(join(repositoryRoot, 'src', 'broker', 'free-ports.ts')).href;
  const script = `const { freePort } = await import(${JSON.stringify(moduleUrl)});
const ports = []; for (let call = 0; call < 400; call++) ports.push(await freePort());
process.stdout.write(JSON.stringify(ports));`;
  const { stdout } = await execFileAsync(process.execPath, [
    `--import=${tsxLoader}`,
    '--input-type=module',
    '-e',
    script,
  ]);
  const theirs = JSON.parse(stdout) as number[];
  t.is(theirs.length, 400);
  const mineSet = new Set(mine);
  t.deepEqual(
    theirs.filter((port) => mineSet.has(port)),
    [],
  );
});
