/**
 * What `npm i goqueue` does: pack the main package and this platform's native package, install
 * both tarballs into a fresh project, and use the installed copy (library and CLI) the way a
 * user would. Needs `npm run build` first (the package ships `dist/`).
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';

const root = process.cwd();
const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });

test('the packed package installs into a fresh project; import and the goqueue bin work', (t) => {
  t.timeout(300_000);
  t.true(existsSync(join(root, 'dist/src/index.js')), 'run `npm run build` before the tests');
  const nodeFile = readdirSync(root).find((name) => /^goqueue\..+\.node$/.test(name));
  t.truthy(nodeFile, 'the native module is built');

  const work = mkdtempSync(join(tmpdir(), 'goqueue-install-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));

  // The per-platform package, made the way a release makes it (napi wants it inside the project).
  mkdirSync(join(root, '.tmp'), { recursive: true });
  const npmDir = mkdtempSync(join(root, '.tmp', 'npm-'));
  t.teardown(() => rmSync(npmDir, { recursive: true, force: true }));
  execFileSync('npx', ['napi', 'create-npm-dirs', '--npm-dir', npmDir], { cwd: root, stdio: 'ignore' });
  const platform = nodeFile!.replace(/^goqueue\./, '').replace(/\.node$/, '');
  const platformDir = join(npmDir, platform);
  copyFileSync(join(root, nodeFile!), join(platformDir, nodeFile!));
  npm(['pack', '--pack-destination', work], platformDir);
  npm(['pack', '--pack-destination', work], root);
  const tarballs = readdirSync(work).filter((name) => name.endsWith('.tgz'));
  t.is(tarballs.length, 2, `tarballs: ${tarballs.join(', ')}`);

  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  npm(['install', '--no-audit', '--no-fund', ...tarballs.map((name) => join(work, name))], app);

  writeFileSync(
    join(app, 'main.js'),
    `import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin, Broker, Client, Consumer, Producer } from 'goqueue';
const broker = await Broker.start({ dataDir: mkdtempSync(join(tmpdir(), 'app-data-')), port: 0 });
const client = new Client({ brokers: [broker.address.host + ':' + broker.address.port] });
await new Admin(client).createTopic({ name: 'installed', partitions: 1 });
const sent = await new Producer(client).produceMessage({ topic: 'installed', messages: [{ key: 'k', value: 'from the tarball' }] });
const { messages } = await new Consumer(client).fetchFrom({ topic: 'installed', partition: 0, offset: 0 });
console.log(JSON.stringify({ value: messages[0].value.toString(), offset: messages[0].offset, sentOffset: sent.baseOffset, count: messages.length }));
await client.close();
await broker.stop();
`,
  );
  const output = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
  // Read from offset 0, the installed consumer skips the partition leader's no-op (a control
  // batch) and returns the one message at the offset the producer was given.
  const read = JSON.parse(output.trim().split('\n').at(-1)!);
  t.deepEqual(read, {
    value: 'from the tarball',
    offset: read.sentOffset,
    sentOffset: read.sentOffset,
    count: 1,
  });
  t.true(Number.isInteger(read.sentOffset) && read.sentOffset >= 0, output);

  const version = execFileSync(join(app, 'node_modules/.bin/goqueue'), ['--version'], { encoding: 'utf8' });
  t.is(
    version.trim(),
    JSON.parse(execFileSync('npm', ['pkg', 'get', 'version'], { cwd: root, encoding: 'utf8' })),
  );
});
