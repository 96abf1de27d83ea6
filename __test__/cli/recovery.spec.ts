import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { type LogLine, startCli } from './helpers.js';

const directory = mkdtempSync(join(tmpdir(), 'goqueue-cli-recovery-'));
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

/** Runs kcat (librdkafka) with `input` on stdin and resolves with its stdout. */
function kcat(args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`kcat exited ${code}: ${stderr}`)),
    );
    child.stdin.end(input);
  });
}

test('a CLI broker killed with SIGKILL restarts on its data directory with every acknowledged message', async (t) => {
  const dataDir = join(directory, 'killed');
  const args = [
    'broker',
    '--data-dir',
    dataDir,
    '--client-addr',
    '127.0.0.1:0',
    '--raft-addr',
    '127.0.0.1:0',
    '--auto-create-topics',
  ];
  const listening = (line: LogLine): boolean => /listening on/.test(line.msg);
  const values = Array.from({ length: 2000 }, (_, i) => `message-${i}`);

  const first = await startCli(args, listening);
  t.teardown(() => first.child.kill('SIGKILL'));
  const firstBroker = `127.0.0.1:${first.match.port}`;
  await kcat(
    ['-b', firstBroker, '-P', '-t', 'durable', '-z', 'lz4', '-X', 'acks=all'],
    `${values.join('\n')}\n`,
  );
  first.child.kill('SIGKILL');
  t.is((await first.exit).signal, 'SIGKILL');

  const second = await startCli(args, listening);
  t.teardown(() => second.child.kill('SIGKILL'));
  const secondBroker = `127.0.0.1:${second.match.port}`;
  const consumed = await kcat(['-b', secondBroker, '-C', '-t', 'durable', '-o', 'beginning', '-e', '-q']);
  t.deepEqual(consumed.split('\n').slice(0, -1), values);
  second.child.kill('SIGTERM');
  t.is((await second.exit).code, 0);
});
