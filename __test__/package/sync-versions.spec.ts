/**
 * scripts/sync-versions.mjs keeps goqueue-<platform> pinned to the package version in
 * package.json and package-lock.json (whose entries let `npm ci` accept the lock before a
 * version is published); `--check` fails on any difference.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';

const root = process.cwd();

function sync(
  directory: string,
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(directory, 'scripts/sync-versions.mjs'), ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A copy of the package manifest, lock and script (the script finds the package next to itself). */
function copyOfPackage(t: { teardown(fn: () => void): void }): string {
  const directory = mkdtempSync(join(tmpdir(), 'goqueue-sync-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  mkdirSync(join(directory, 'scripts'));
  for (const file of ['package.json', 'package-lock.json', 'scripts/sync-versions.mjs'])
    copyFileSync(join(root, file), join(directory, file));
  symlinkSync(join(root, 'node_modules'), join(directory, 'node_modules'));
  return directory;
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

test('the repository is in step', async (t) => {
  const result = await sync(root, ['--check']);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^platform packages at \d+\.\d+\.\d+: goqueue-linux-x64-gnu, /);
});

test('a new version moves every platform package in package.json and the lock; --check then passes', async (t) => {
  const directory = copyOfPackage(t);
  const manifest = readJson(join(directory, 'package.json'));
  manifest.version = '9.9.9';
  writeFileSync(join(directory, 'package.json'), JSON.stringify(manifest, null, 2));

  const before = await sync(directory, ['--check']);
  t.is(before.code, 1);
  t.regex(before.stderr, /optionalDependencies\.goqueue-linux-x64-gnu: \S+ -> 9\.9\.9/);

  t.is((await sync(directory)).code, 0);
  const synced = readJson(join(directory, 'package.json'));
  const names = Object.keys(synced.optionalDependencies);
  t.is(names.length, synced.napi.targets.length);
  t.true(names.every((name) => synced.optionalDependencies[name] === '9.9.9'));
  const lock = readJson(join(directory, 'package-lock.json'));
  t.deepEqual(lock.packages[''].optionalDependencies, synced.optionalDependencies);
  t.deepEqual(lock.packages['node_modules/goqueue-linux-arm64-musl'], {
    version: '9.9.9',
    cpu: ['arm64'],
    libc: ['musl'],
    optional: true,
    os: ['linux'],
  });
  t.deepEqual(lock.packages['node_modules/goqueue-darwin-arm64'], {
    version: '9.9.9',
    cpu: ['arm64'],
    optional: true,
    os: ['darwin'],
  });
  t.is((await sync(directory, ['--check'])).code, 0);
});
