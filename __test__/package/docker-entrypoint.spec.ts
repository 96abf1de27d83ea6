/**
 * The container's entry point and health check, run outside a container (no container runtime
 * is needed): docker/entrypoint.sh maps its arguments to `goqueue broker`, another goqueue
 * command or a program, with container defaults that GOQUEUE_* variables override, and
 * docker/healthcheck.js reports a listening broker as healthy and a missing one as not.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { freePorts } from '../../src/broker/free-ports.js';
import { bootstrap, startBroker } from '../broker/helpers.js';

const root = process.cwd();

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A stand-in `goqueue` on PATH that prints its arguments and the GOQUEUE_* settings it got. */
function stubGoqueue(t: { teardown(fn: () => void): void }): NodeJS.ProcessEnv {
  const bin = mkdtempSync(join(tmpdir(), 'goqueue-stub-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  writeFileSync(
    join(bin, 'goqueue'),
    `#!${process.execPath}\n` +
      'const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("GOQUEUE_")));\n' +
      'process.stdout.write(JSON.stringify({ args: process.argv.slice(2), env }));\n',
  );
  chmodSync(join(bin, 'goqueue'), 0o755);
  const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH}` };
  return env;
}

const hostName = (() => {
  try {
    return readFileSync('/etc/hostname', 'utf8').trim();
  } catch {
    return undefined;
  }
})();

test('no arguments run goqueue broker with the container defaults', async (t) => {
  const env = stubGoqueue(t);
  const result = await run('sh', [join(root, 'docker/entrypoint.sh')], env);
  t.is(result.code, 0, result.stderr);
  const { args, env: settings } = JSON.parse(result.stdout);
  t.deepEqual(args, ['broker']);
  t.is(settings.GOQUEUE_DATA_DIR, '/var/lib/goqueue');
  t.is(settings.GOQUEUE_CLIENT_ADDR, '0.0.0.0:9092');
  t.is(settings.GOQUEUE_RAFT_ADDR, '0.0.0.0:9093');
  if (hostName !== undefined) t.is(settings.GOQUEUE_ADVERTISED_ADDR, `${hostName}:9092`);
});

test('flags go to goqueue broker; GOQUEUE_* settings win over the defaults; the advertised port follows the listener', async (t) => {
  const env = {
    ...stubGoqueue(t),
    GOQUEUE_CLIENT_ADDR: '0.0.0.0:19092',
    GOQUEUE_DATA_DIR: '/data',
  };
  const result = await run('sh', [join(root, 'docker/entrypoint.sh'), '--broker-id', '2'], env);
  t.is(result.code, 0, result.stderr);
  const { args, env: settings } = JSON.parse(result.stdout);
  t.deepEqual(args, ['broker', '--broker-id', '2']);
  t.is(settings.GOQUEUE_DATA_DIR, '/data');
  t.is(settings.GOQUEUE_CLIENT_ADDR, '0.0.0.0:19092');
  t.regex(settings.GOQUEUE_ADVERTISED_ADDR, /:19092$/);
});

test('a goqueue command runs as goqueue <command>; a program on PATH runs as itself', async (t) => {
  const env = stubGoqueue(t);
  const command = await run('sh', [join(root, 'docker/entrypoint.sh'), 'topic', 'list'], env);
  t.deepEqual(JSON.parse(command.stdout).args, ['topic', 'list']);
  const program = await run('sh', [join(root, 'docker/entrypoint.sh'), 'echo', 'plain program'], env);
  t.is(program.stdout, 'plain program\n');
});

test('the health check passes while the broker listens and fails without one', async (t) => {
  const broker = await startBroker(t);
  const healthcheck = join(root, 'docker/healthcheck.js');
  const healthy = await run(process.execPath, [healthcheck], {
    ...process.env,
    GOQUEUE_CLIENT_ADDR: bootstrap(broker),
    GOQUEUE_SERVER_HTTP_PORT: '-1',
  });
  t.is(healthy.code, 0, healthy.stderr);
  const [unused] = await freePorts('127.0.0.1', 1);
  const unhealthy = await run(process.execPath, [healthcheck], {
    ...process.env,
    GOQUEUE_CLIENT_ADDR: `0.0.0.0:${unused}`,
    GOQUEUE_SERVER_HTTP_PORT: '-1',
  });
  t.is(unhealthy.code, 1);
});
