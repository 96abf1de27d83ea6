#!/usr/bin/env node
/**
 * Keeps the per-platform native packages in step with the main package: one optional
 * dependency `goqueue-<platform>` per napi target, each pinned to exactly the main package's
 * version (a mismatched binary would load against the wrong JavaScript), the versions of any
 * generated `npm/<platform>/package.json` folders, and their entries in package-lock.json.
 *
 * The lock entries matter before a version is on the registry: `npm install` cannot resolve an
 * unpublished optional dependency and leaves it out of the lock, and `npm ci` then refuses the
 * lock ("Missing: goqueue-linux-x64-gnu@ from lock file"). An entry with the version, `optional`
 * and the package's os/cpu/libc is enough: npm ci skips the other platforms and tolerates the
 * host's package being absent from the registry (the build puts the module next to index.js).
 *
 *   node scripts/sync-versions.mjs           rewrite package.json (and npm/*) in place
 *   node scripts/sync-versions.mjs --check   exit 1 and list what is out of step, change nothing
 *
 * `npm version <new>` runs it through the `version` script, so a release bump moves them all.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTriple } from '@napi-rs/cli';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

const manifestPath = join(root, 'package.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const { version } = manifest;
const binaryName = manifest.napi?.binaryName;
const targets = manifest.napi?.targets ?? [];
if (!binaryName || targets.length === 0) fail('package.json has no napi.binaryName or napi.targets');

/** `goqueue-linux-x64-gnu` and so on, in the order of napi.targets. */
const platformPackages = targets.map((target) => `${binaryName}-${parseTriple(target).platformArchABI}`);
const wanted = Object.fromEntries(platformPackages.map((name) => [name, version]));

const problems = [];
const current = manifest.optionalDependencies ?? {};
for (const [name, spec] of Object.entries(wanted))
  if (current[name] !== spec) problems.push(`optionalDependencies.${name}: ${current[name] ?? 'missing'} -> ${spec}`);
for (const name of Object.keys(current))
  if (name.startsWith(`${binaryName}-`) && !(name in wanted))
    problems.push(`optionalDependencies.${name}: not a napi target any more -> removed`);

const npmDir = join(root, 'npm');
const generated = existsSync(npmDir)
  ? readdirSync(npmDir)
      .map((entry) => join(npmDir, entry, 'package.json'))
      .filter((path) => existsSync(path))
  : [];
for (const path of generated) {
  const platformManifest = JSON.parse(readFileSync(path, 'utf8'));
  if (platformManifest.version !== version)
    problems.push(`${platformManifest.name} (${path}): ${platformManifest.version} -> ${version}`);
}

const lockPath = join(root, 'package-lock.json');
const lock = existsSync(lockPath) ? JSON.parse(readFileSync(lockPath, 'utf8')) : null;
/** What package-lock.json should say about each platform package (kept when it says more). */
const lockEntries = Object.fromEntries(
  targets.map((target) => {
    const { platform, arch, abi } = parseTriple(target);
    // npm's own field order: version, then the rest by name.
    const entry = {
      version,
      cpu: [arch],
      ...(platform === 'linux' ? { libc: [abi === 'musl' ? 'musl' : 'glibc'] } : {}),
      optional: true,
      os: [platform],
    };
    return [`node_modules/${binaryName}-${parseTriple(target).platformArchABI}`, entry];
  }),
);
if (lock !== null) {
  const rootEntry = lock.packages?.[''] ?? {};
  for (const [name, spec] of Object.entries(wanted))
    if (rootEntry.optionalDependencies?.[name] !== spec)
      problems.push(`package-lock.json root optionalDependencies.${name}: ${rootEntry.optionalDependencies?.[name] ?? 'missing'} -> ${spec}`);
  for (const [path, entry] of Object.entries(lockEntries))
    if (lock.packages?.[path]?.version !== entry.version)
      problems.push(`package-lock.json ${path}: ${lock.packages?.[path]?.version ?? 'missing'} -> ${entry.version}`);
}

if (check) {
  if (problems.length > 0) fail(`platform packages out of step with ${version}:\n  ${problems.join('\n  ')}`);
  process.stdout.write(`platform packages at ${version}: ${platformPackages.join(', ')}\n`);
  process.exit(0);
}

// Other optional dependencies (none today) keep their place; the platform ones follow them.
const others = Object.fromEntries(Object.entries(current).filter(([name]) => !name.startsWith(`${binaryName}-`)));
manifest.optionalDependencies = { ...others, ...wanted };
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
if (lock !== null) {
  const rootEntry = lock.packages[''];
  rootEntry.optionalDependencies = {
    ...Object.fromEntries(
      Object.entries(rootEntry.optionalDependencies ?? {}).filter(([name]) => !name.startsWith(`${binaryName}-`)),
    ),
    ...wanted,
  };
  // npm writes dependency maps sorted by name.
  rootEntry.optionalDependencies = Object.fromEntries(
    Object.entries(rootEntry.optionalDependencies).sort(([a], [b]) => a.localeCompare(b, 'en')),
  );
  const packages = {};
  for (const [path, entry] of Object.entries(lock.packages)) {
    // Entries of platform packages that are no longer targets go; current ones are rewritten below.
    if (path.startsWith(`node_modules/${binaryName}-`) && !(path in lockEntries)) continue;
    packages[path] = entry;
  }
  for (const [path, entry] of Object.entries(lockEntries))
    if (packages[path]?.version !== version) packages[path] = entry;
  // npm keeps the entries sorted by path; a stable order keeps its own rewrites from moving them.
  const [rootKey, ...paths] = Object.keys(packages);
  lock.packages = Object.fromEntries(
    [rootKey, ...paths.sort((a, b) => a.localeCompare(b, 'en'))].map((path) => [path, packages[path]]),
  );
  writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
}
for (const path of generated) {
  const platformManifest = JSON.parse(readFileSync(path, 'utf8'));
  platformManifest.version = version;
  writeFileSync(path, `${JSON.stringify(platformManifest, null, 2)}\n`);
}
process.stdout.write(
  problems.length === 0 ? `already in step at ${version}\n` : `updated:\n  ${problems.join('\n  ')}\n`,
);

function fail(message) {
  process.stderr.write(`sync-versions: ${message}\n`);
  process.exit(1);
}
