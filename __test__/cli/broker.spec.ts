import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  apiVersionsV0,
  finished,
  type LogLine,
  metadataBrokersV0,
  runCli,
  spawnCli,
  startCli,
} from './helpers.js';

const directory = mkdtempSync(join(tmpdir(), 'goqueue-cli-broker-'));
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

const listening = (line: LogLine): boolean => /listening on/.test(line.msg);

test('goqueue broker logs its bound address, answers Kafka on it and exits 0 on SIGTERM', async (t) => {
  const dataDir = join(directory, 'sigterm');
  const broker = await startCli(
    ['broker', '--data-dir', dataDir, '--client-addr', '127.0.0.1:0', '--raft-addr', '127.0.0.1:0'],
    listening,
  );
  t.teardown(() => broker.child.kill('SIGKILL'));
  const { host, port } = broker.match as LogLine & { host: string; port: number };
  t.is(host, '127.0.0.1');
  t.true(port > 0);
  t.is(broker.match.msg, `broker 1 listening on 127.0.0.1:${port}`);
  t.is(broker.match.dataDir, dataDir);

  const answer = await apiVersionsV0(port, 4242);
  t.is(answer.correlationId, 4242);
  t.is(answer.errorCode, 0);
  t.true(answer.apiKeys.includes(18), 'ApiVersions lists itself');
  t.true(existsSync(dataDir), 'the data directory was created');
  const identity = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as Record<string, unknown>;
  t.like(identity, { version: 1, brokerId: 1, token: 'goqueue-cluster' }, 'the data directory is labelled');

  broker.child.kill('SIGTERM');
  const result = await broker.exit;
  t.is(result.code, 0);
  t.is(result.stderr, '');
  const messages = result.stdout
    .trim()
    .split('\n')
    .map((text) => (JSON.parse(text) as LogLine).msg);
  t.true(messages.includes('stopping the broker'));
  t.true(messages.includes('stopped cleanly, exiting'));
});

test('goqueue broker stops cleanly on SIGINT and starts again on the same data directory', async (t) => {
  const dataDir = join(directory, 'sigint');
  const args = [
    'broker',
    '--data-dir',
    dataDir,
    '--client-addr',
    '127.0.0.1:0',
    '--raft-addr',
    '127.0.0.1:0',
  ];
  for (const round of [1, 2]) {
    const broker = await startCli(args, listening);
    t.teardown(() => broker.child.kill('SIGKILL'));
    const port = broker.match.port as number;
    t.is((await apiVersionsV0(port, round)).correlationId, round);
    broker.child.kill('SIGINT');
    t.is((await broker.exit).code, 0, `round ${round}`);
  }
});

test('a config file, the environment and flags all reach the running broker', async (t) => {
  const logFile = join(directory, 'layered', 'logs', 'broker.log');
  const file = join(directory, 'layered.json');
  writeFileSync(
    file,
    JSON.stringify({
      broker_id: 'broker7',
      data_dir: join(directory, 'layered', 'from-file'),
      server: { port: '0', log_file: logFile },
    }),
  );
  const dataDir = join(directory, 'layered', 'from-env');
  const broker = await runUntilLogged(t, file, logFile, { GOQUEUE_DATA_DIR: dataDir });
  t.is(broker.line.msg, `broker 7 listening on 127.0.0.1:${broker.line.port}`);
  t.is(broker.line.dataDir, dataDir);
  t.true(existsSync(dataDir));
  t.false(existsSync(join(directory, 'layered', 'from-file')), 'the environment overrode data_dir');
  t.is((await apiVersionsV0(broker.line.port as number, 7)).errorCode, 0);
  broker.child.kill('SIGTERM');
  const result = await broker.exit;
  t.is(result.code, 0);
  // The log goes to the file; the terminal still gets the start line (it showed nothing before).
  t.is(
    result.stdout,
    `goqueue: broker 7 listening on 127.0.0.1:${broker.line.port}; logging to ${logFile}\n`,
  );
  t.is(result.stderr, '');
});

/** Starts a broker whose logs go to `logFile`, and waits for the listening line there. */
async function runUntilLogged(
  t: import('ava').ExecutionContext,
  configFile: string,
  logFile: string,
  env: Record<string, string>,
): Promise<{ line: LogLine; child: ReturnType<typeof spawnCli>; exit: ReturnType<typeof finished> }> {
  const child = spawnCli(['broker', '--config', configFile, '--raft-addr', '127.0.0.1:0'], { env });
  const exit = finished(child);
  t.teardown(() => child.kill('SIGKILL'));
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  // The log goes to the file, not stdout: read the file until the line appears.
  for (;;) {
    const lines = existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((text) => text !== '')
          .map((text) => JSON.parse(text) as LogLine)
      : [];
    const line = lines.find(listening);
    if (line !== undefined) return { line, child, exit };
    if (exited) throw new Error(`goqueue exited before listening: ${(await exit).stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('--advertised-addr is the address Metadata gives clients, not the bound listener', async (t) => {
  const broker = await startCli(
    [
      'broker',
      '--data-dir',
      join(directory, 'advertised'),
      '--client-addr',
      '127.0.0.1:0',
      '--raft-addr',
      '127.0.0.1:0',
      '--advertised-addr',
      'kafka.example.com:19092',
    ],
    listening,
  );
  t.teardown(() => broker.child.kill('SIGKILL'));
  const brokers = await metadataBrokersV0(broker.match.port as number);
  t.deepEqual(brokers, [{ nodeId: 1, host: 'kafka.example.com', port: 19092 }]);
  broker.child.kill('SIGTERM');
  t.is((await broker.exit).code, 0);
});

test('without --advertised-addr Metadata gives the port actually bound', async (t) => {
  const broker = await startCli(
    [
      'broker',
      '--data-dir',
      join(directory, 'bound'),
      '--client-addr',
      '127.0.0.1:0',
      '--raft-addr',
      '127.0.0.1:0',
    ],
    listening,
  );
  t.teardown(() => broker.child.kill('SIGKILL'));
  const port = broker.match.port as number;
  t.deepEqual(await metadataBrokersV0(port), [{ nodeId: 1, host: '127.0.0.1', port }]);
  broker.child.kill('SIGTERM');
  t.is((await broker.exit).code, 0);
});

test('a Kafka port already in use exits 1 with one line saying so', async (t) => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const { port } = blocker.address() as { port: number };
  const result = await runCli([
    'broker',
    '--data-dir',
    join(directory, 'in-use'),
    '--client-addr',
    `127.0.0.1:${port}`,
    '--raft-addr',
    '127.0.0.1:0',
  ]);
  t.is(result.code, 1);
  t.regex(
    result.stderr.trim(),
    /^goqueue: cannot start the broker: an address is already in use .*EADDRINUSE/,
  );
  t.is(result.stderr.trim().split('\n').length, 1);
  // No log record of the failure (with its stack trace) before that line.
  t.notRegex(result.stdout, /EADDRINUSE|"level":50|\n\s+at /);
});
