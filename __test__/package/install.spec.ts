/**
 * What `npm i goqueue` does, end to end: pack the main package and every platform package the
 * way a release makes them (`napi create-npm-dirs`, this machine's `.node` in its own folder),
 * and install `goqueue` into an empty project. npm finds `goqueue-<platform>` by *name* through
 * goqueue's optionalDependencies: the project's `overrides` point each name at its tarball (a
 * registry stand-in; the other platforms' packages are skipped on os/cpu/libc, as from the
 * registry). Then `npx goqueue --version`, `npx goqueue broker` and an SDK round trip against it,
 * and the same install without the platform package (what `--omit=optional` leaves).
 * Needs `npm run build` first (the package ships `dist/src`).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { nativePlatform } from '../../src/storage/native-binding.js';

const root = process.cwd();
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  optionalDependencies: Record<string, string>;
};
const platform = nativePlatform();
const platformPackage = `goqueue-${platform}`;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(command, args, {
    cwd,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 240_000,
  });
}

/** A user's shell: no npm or goqueue settings leaking from the test runner's environment. */
function userEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!/^(npm_|GOQUEUE_|NAPI_RS_)/i.test(name)) env[name] = value;
  return env;
}

/** The files of a tarball, without npm's leading `package/`. */
function tarballFiles(path: string): string[] {
  return run('tar', ['-tzf', path], root)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^package\//, ''));
}

interface LogEntry {
  msg?: string;
  port?: number;
}

/** Runs `npx goqueue broker` in `cwd`; resolves with its client port once it listens. */
function startInstalledBroker(
  cwd: string,
  dataDir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; port: number; exit: Promise<number | null>; lines: LogEntry[] }> {
  const child = spawn(
    'npx',
    [
      '--no',
      '--',
      'goqueue',
      'broker',
      '--client-addr',
      '127.0.0.1:0',
      '--raft-addr',
      '127.0.0.1:0',
      '--data-dir',
      dataDir,
    ],
    { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const lines: LogEntry[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        try {
          const entry = JSON.parse(line) as LogEntry;
          lines.push(entry);
          if (typeof entry.msg === 'string' && entry.msg.includes('listening on') && entry.port)
            resolve({ child, port: entry.port, exit, lines });
        } catch {
          // not a log line
        }
      }
    });
    void exit.then((code) =>
      reject(new Error(`goqueue broker exited (${code}) before listening: ${stderr}`)),
    );
  });
}

const roundTrip = `import { Admin, Client, Consumer, Producer } from 'goqueue';
const [topic, compression] = process.argv.slice(2);
const client = new Client({ brokers: [process.env.BOOTSTRAP] });
if (compression === 'none') await new Admin(client).createTopic({ name: topic, partitions: 1 });
const sent = await new Producer(client, { compression }).produceMessage({
  topic, partition: 0, messages: [{ key: 'k', value: 'from the tarball, ' + compression }],
});
const { messages } = await new Consumer(client).fetchFrom({ topic, partition: 0, offset: sent.baseOffset });
await client.close();
process.stdout.write(JSON.stringify({ values: messages.map((m) => m.value.toString()), same: messages[0]?.offset === sent.baseOffset }));
`;

test('npm i goqueue resolves the platform package by name; npx goqueue --version, broker and the SDK work, and the SDK works without it', async (t) => {
  t.timeout(180_000);
  t.true(existsSync(join(root, 'dist/src/index.js')), 'run `npm run build` before the tests');
  const nodeFile = `goqueue.${platform}.node`;
  t.true(existsSync(join(root, nodeFile)), `the native module ${nodeFile} is built`);
  t.true(platformPackage in manifest.optionalDependencies, `${platformPackage} is an optional dependency`);

  const work = mkdtempSync(join(tmpdir(), 'goqueue-install-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));

  // The platform packages, made the way the release makes them (napi wants them inside the project).
  mkdirSync(join(root, '.tmp'), { recursive: true });
  const npmDir = mkdtempSync(join(root, '.tmp', 'npm-'));
  t.teardown(() => rmSync(npmDir, { recursive: true, force: true }));
  run('npx', ['napi', 'create-npm-dirs', '--npm-dir', npmDir], root);
  const platformDirs = readdirSync(npmDir).map((name) => join(npmDir, name));
  t.deepEqual(
    platformDirs.map((dir) => `goqueue-${dir.slice(npmDir.length + 1)}`).sort(),
    Object.keys(manifest.optionalDependencies).sort(),
    'one platform folder per optional dependency',
  );
  copyFileSync(join(root, nodeFile), join(npmDir, platform, nodeFile));
  const packed = JSON.parse(
    run('npm', ['pack', '--json', '--pack-destination', work, ...platformDirs, root], root),
  ) as Array<{ name: string; version: string; filename: string }>;
  const tarballs = new Map(packed.map((entry) => [entry.name, join(work, entry.filename)]));
  for (const entry of packed)
    t.is(entry.version, manifest.version, `${entry.name} is at the package version`);

  // What a user downloads: the compiled library, the loader, the bin; no sources, tests, maps, target/.
  const shipped = tarballFiles(tarballs.get('goqueue')!);
  const unexpected = shipped.filter(
    (path) =>
      !/^(package\.json|README\.md|LICENSE|index\.js|index\.d\.ts|bin\/goqueue\.js|dist\/src\/.+\.(js|d\.ts))$/.test(
        path,
      ) || path.startsWith('dist/src/testing/'),
  );
  t.deepEqual(unexpected, [], 'the goqueue tarball holds only what a user needs');
  t.deepEqual(tarballFiles(tarballs.get(platformPackage)!).sort(), ['README.md', nodeFile, 'package.json']);

  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'app',
      private: true,
      type: 'module',
      dependencies: { goqueue: `file:${tarballs.get('goqueue')}` },
      overrides: Object.fromEntries(
        [...tarballs].filter(([name]) => name !== 'goqueue').map(([name, path]) => [name, `file:${path}`]),
      ),
    }),
  );
  const env = userEnvironment();
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], app, env);
  const installed = readdirSync(join(app, 'node_modules')).filter((name) => name.startsWith('goqueue-'));
  t.deepEqual(installed, [platformPackage], 'npm installed this platform package only');
  t.true(existsSync(join(app, 'node_modules', platformPackage, nodeFile)));

  t.is(run('npx', ['--no', '--', 'goqueue', '--version'], app, env).trim(), manifest.version);

  const broker = await startInstalledBroker(app, join(work, 'data'), env);
  t.teardown(() => {
    // Safety net only: the test stops the broker itself below.
    try {
      process.kill(-broker.child.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  });
  const clientEnv = { ...env, BOOTSTRAP: `127.0.0.1:${broker.port}` };
  writeFileSync(join(app, 'round-trip.js'), roundTrip);
  const withNative = JSON.parse(
    run(process.execPath, ['round-trip.js', 'installed', 'none'], app, clientEnv),
  );
  t.deepEqual(withNative, { values: ['from the tarball, none'], same: true });
  const zstd = JSON.parse(run(process.execPath, ['round-trip.js', 'installed', 'zstd'], app, clientEnv));
  t.deepEqual(
    zstd,
    { values: ['from the tarball, zstd'], same: true },
    'native codecs from the platform package',
  );

  // Without the platform package (an install with --omit=optional): the SDK still carries
  // plain and gzip messages to the running broker, and `goqueue broker` refuses in one line.
  renameSync(join(app, 'node_modules', platformPackage), join(work, 'set-aside'));
  const gzip = JSON.parse(run(process.execPath, ['round-trip.js', 'installed', 'gzip'], app, clientEnv));
  t.deepEqual(gzip, { values: ['from the tarball, gzip'], same: true });
  const refused = spawn('npx', ['--no', '--', 'goqueue', 'broker', '--data-dir', join(work, 'data-2')], {
    cwd: app,
    env,
  });
  let refusal = '';
  refused.stderr.on('data', (chunk: Buffer) => {
    refusal += chunk.toString();
  });
  const refusedCode = await new Promise<number | null>((resolve) => refused.once('close', resolve));
  t.is(refusedCode, 1, refusal);
  t.deepEqual(refusal.trimEnd().split('\n').length, 1, refusal);
  t.true(
    refusal.includes(platform) && refusal.includes(`npm install ${platformPackage}@${manifest.version}`),
    refusal,
  );

  // Ctrl-C in a terminal signals the whole foreground group (npx and the broker under it): the
  // broker stops cleanly and no process of the group is left.
  process.kill(-broker.child.pid!, 'SIGINT');
  await broker.exit;
  t.true(
    broker.lines.some((line) => line.msg === 'stopped cleanly, exiting'),
    JSON.stringify(broker.lines.at(-1)),
  );
  t.throws(() => process.kill(-broker.child.pid!, 0), { code: 'ESRCH' }, 'no process of the group is left');
});
