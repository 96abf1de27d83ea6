#!/usr/bin/env node
/**
 * Keeps the per-platform native packages in step with the main package: one optional
 * dependency `goqueue-<platform>` per napi target, each pinned to exactly the main package's
 * version (a mismatched binary would load against the wrong JavaScript), and the versions of
 * any generated `npm/<platform>/package.json` folders.
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

if (check) {
  if (problems.length > 0) fail(`platform packages out of step with ${version}:\n  ${problems.join('\n  ')}`);
  process.stdout.write(`platform packages at ${version}: ${platformPackages.join(', ')}\n`);
  process.exit(0);
}

// Other optional dependencies (none today) keep their place; the platform ones follow them.
const others = Object.fromEntries(Object.entries(current).filter(([name]) => !name.startsWith(`${binaryName}-`)));
manifest.optionalDependencies = { ...others, ...wanted };
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
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
