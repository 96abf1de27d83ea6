import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { acceptOneDashFlags } from '../../src/cli/one-dash-flags.js';
import { CONFIG_KEYS } from '../../src/config/load.js';
import { repositoryRoot, runCli } from './helpers.js';

const directory = mkdtempSync(join(tmpdir(), 'goqueue-cli-'));
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

function oneLine(t: import('ava').ExecutionContext, stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  t.is(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  t.notRegex(stderr, /^\s+at /m, 'no stack trace for a user error');
  return lines[0]!;
}

test('goqueue --help lists the broker command and exits 0', async (t) => {
  const result = await runCli(['--help']);
  t.is(result.code, 0);
  t.regex(result.stdout, /Usage: goqueue/);
  t.regex(result.stdout, /^\s+broker \[options\]/m);
});

test('goqueue broker --help lists --config and every flag of the configuration table', async (t) => {
  const result = await runCli(['broker', '--help']);
  t.is(result.code, 0);
  const flags = CONFIG_KEYS.flatMap((spec) => (spec.flag === null ? [] : [spec.flag]));
  t.true(flags.length >= 9);
  for (const flag of ['--config', ...flags]) t.regex(result.stdout, new RegExp(`${flag}\\b`), flag);
  for (const spec of CONFIG_KEYS.filter((s) => s.flag !== null))
    t.true(result.stdout.includes(spec.env), spec.env);
});

test('goqueue --version prints the package version', async (t) => {
  const { version } = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  const result = await runCli(['--version']);
  t.is(result.code, 0);
  t.is(result.stdout.trim(), version);
});

test('a bad GOQUEUE_ variable exits 2 with one line naming the key, the variable and the reason', async (t) => {
  const result = await runCli(['broker', '--data-dir', join(directory, 'unused')], {
    env: { GOQUEUE_SEGMENT_SIZE: 'huge' },
  });
  t.is(result.code, 2);
  const line = oneLine(t, result.stderr);
  t.regex(
    line,
    /^goqueue: segment_size: "huge" is not a size .*\(from environment variable GOQUEUE_SEGMENT_SIZE\)$/,
  );
});

test('a bad flag value exits 2 naming the key and the flag', async (t) => {
  const result = await runCli(['broker', '--client-addr', 'localhost']);
  t.is(result.code, 2);
  t.regex(
    oneLine(t, result.stderr),
    /client_addr: "localhost" is not an address .*\(from flag --client-addr\)/,
  );
});

test('an unknown key in a --config file exits 2 naming the key and the closest known one', async (t) => {
  const file = join(directory, 'typo.json');
  writeFileSync(file, JSON.stringify({ data_dir: join(directory, 'data'), retention_tim: '1h' }));
  const result = await runCli(['broker', '--config', file]);
  t.is(result.code, 2);
  t.regex(
    oneLine(t, result.stderr),
    /unknown key "retention_tim" in config file .*typo\.json; did you mean "retention_time"\?/,
  );
});

test("go-queue's one-dash flags work: -config=file", async (t) => {
  const file = join(directory, 'one-dash.json');
  writeFileSync(file, JSON.stringify({ server: { port: 'http' } }));
  const result = await runCli(['broker', `-config=${file}`, '-broker-id=broker1']);
  t.is(result.code, 2);
  t.regex(
    oneLine(t, result.stderr),
    /server\.port: "http" is not a whole number \(from config file .*one-dash\.json\)/,
  );
});

test('GOQUEUE_CONFIG names the config file when --config is absent', async (t) => {
  const file = join(directory, 'from-env.json');
  writeFileSync(file, JSON.stringify({ compression_type: 'brotli' }));
  const result = await runCli(['broker'], { env: { GOQUEUE_CONFIG: file } });
  t.is(result.code, 2);
  t.regex(oneLine(t, result.stderr), /compression_type: "brotli" is not one of .*from-env\.json/);
});

test('an unknown option exits 2 (a usage error)', async (t) => {
  const result = await runCli(['broker', '--segment-size', '1']);
  t.is(result.code, 2);
  t.regex(result.stderr, /unknown option '--segment-size'/);
});

test('one-dash flag rewriting touches only known long flags before --', (t) => {
  const argv = [
    'node',
    'goqueue',
    'broker',
    '-config=a.json',
    '-data-dir',
    'd',
    '-h',
    '-x',
    '--',
    '-config=b',
  ];
  t.deepEqual(acceptOneDashFlags(argv), [
    'node',
    'goqueue',
    'broker',
    '--config=a.json',
    '--data-dir',
    'd',
    '-h',
    '-x',
    '--',
    '-config=b',
  ]);
});
