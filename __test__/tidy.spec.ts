import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import test from 'ava';

// DESIGN decision 10: the pure cores take time, randomness, storage and transport as arguments.
const pureFolders = ['src/raft', 'src/protocol', 'src/controller'];
const banned: Array<{ pattern: RegExp; why: string }> = [
  { pattern: /\bDate\.now\s*\(/, why: 'take a Clock' },
  { pattern: /\bnew Date\s*\(\s*\)/, why: 'take a Clock' },
  { pattern: /\bMath\.random\s*\(/, why: 'take a Prng' },
  { pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/, why: 'drive it with tick()' },
  { pattern: /\bperformance\.now\s*\(/, why: 'take a Clock' },
  {
    pattern: /from\s+['"](node:)?(fs|fs\/promises|net|dgram|child_process|http|https)['"]/,
    why: 'I/O belongs in the shell',
  },
  { pattern: /\bprocess\.(hrtime|env)\b/, why: 'inject it' },
];

function walk(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function findViolations(root: string): string[] {
  const violations: string[] = [];
  for (const folder of pureFolders) {
    for (const file of walk(join(root, folder))) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (line.trimStart().startsWith('//') || line.trimStart().startsWith('*')) return;
        for (const { pattern, why } of banned) {
          if (pattern.test(line))
            violations.push(`${relative(root, file)}:${i + 1}: ${line.trim()} (${why})`);
        }
      });
    }
  }
  return violations;
}

test('pure cores use no clock, randomness, timers or I/O of their own', (t) => {
  t.deepEqual(findViolations(process.cwd()), []);
});

test('the tidy check flags a banned call (so it cannot pass vacuously)', (t) => {
  const line = "const now = Date.now(); import { x } from 'node:fs';";
  t.true(banned.some(({ pattern }) => pattern.test(line)));
  t.true(banned.filter(({ pattern }) => pattern.test(line)).length >= 2);
});

// DESIGN §2: arrows point at dependencies. A folder under src may import only itself and the
// folders listed here; a new folder must be added before it can import or be imported.
const layers: Record<string, readonly string[]> = {
  lib: [],
  protocol: ['lib'],
  raft: ['lib'],
  controller: ['lib', 'raft'],
  storage: ['lib', 'protocol'],
  cluster: ['lib', 'raft', 'storage', 'protocol'],
  config: ['lib'],
  log: ['lib', 'config'],
  broker: ['lib', 'protocol', 'raft', 'controller', 'storage', 'cluster', 'config', 'log'],
  // The SDK loads the storage core lazily, only for its compression codecs (src/client/codecs.ts):
  // the one native piece a producer or consumer needs.
  client: ['lib', 'protocol', 'storage'],
  cli: ['lib', 'client', 'broker', 'config', 'log'],
  // The simulator and test helpers drive every layer; nothing in production imports them.
  testing: [
    'lib',
    'protocol',
    'raft',
    'controller',
    'storage',
    'cluster',
    'config',
    'log',
    'broker',
    'client',
  ],
  // src/index.ts: the package's entry point re-exports the public layers.
  '.': ['lib', 'protocol', 'raft', 'controller', 'storage', 'cluster', 'config', 'log', 'broker', 'client'],
};
/** Only the storage layer loads the native binding (DESIGN §2: native-log is its one importer). */
const nativeImporters = new Set(['storage']);

/** The layer of a path relative to src: its first folder, or '.' for files directly in src. */
function layerOf(pathInSrc: string): string {
  const parts = pathInSrc.split(/[\\/]/);
  return parts.length === 1 ? '.' : (parts[0] as string);
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  for (const match of text.matchAll(pattern)) found.push(match[1] as string);
  return found;
}

/** Imports that point the wrong way, for files given as paths relative to src. */
function importViolations(files: ReadonlyArray<{ path: string; text: string }>): string[] {
  const violations: string[] = [];
  for (const { path, text } of files) {
    const from = layerOf(path);
    const allowed = layers[from];
    if (allowed === undefined) {
      violations.push(`src/${path}: folder '${from}' has no entry in the layer table`);
      continue;
    }
    for (const specifier of specifiers(text)) {
      const target = specifier.startsWith('.') ? normalize(join(dirname(path), specifier)) : undefined;
      if (specifier === '#native' || target === join('..', 'index.js')) {
        if (!nativeImporters.has(from))
          violations.push(`src/${path}: imports the native binding (${specifier})`);
        continue;
      }
      if (target === undefined) continue; // packages and node: built-ins
      if (target.startsWith(`..${sep}`)) {
        violations.push(`src/${path}: imports from outside src (${specifier})`);
        continue;
      }
      const to = layerOf(target);
      if (to === from) continue;
      if (!allowed.includes(to)) violations.push(`src/${path}: ${from} -> ${to} (${specifier})`);
    }
  }
  return violations;
}

test('imports point down the layers of DESIGN §2, and nothing in production imports src/testing', (t) => {
  const src = join(process.cwd(), 'src');
  const files = walk(src).map((file) => ({ path: relative(src, file), text: readFileSync(file, 'utf8') }));
  t.true(files.length > 50, 'the walk found the sources');
  t.deepEqual(importViolations(files), []);
});

test('the import-direction check flags an upward import, an import of src/testing and an unknown folder', (t) => {
  const violations = importViolations([
    { path: 'raft/raft.ts', text: "import { x } from '../broker/broker.js';" },
    { path: 'cluster/node.ts', text: "import type { Y } from '../broker/replicated-log.js';" },
    { path: 'broker/broker.ts', text: "const sim = await import('../testing/sim/simulation.js');" },
    { path: 'raft/entry.ts', text: "export { z } from '../protocol/record-batch-header.js';" },
    { path: 'nowhere/file.ts', text: "import { a } from '../lib/ids.js';" },
    { path: 'cluster/native.ts', text: "import { NativeLog } from '#native';" },
    {
      path: 'broker/ok.ts',
      text: "import { b } from '../cluster/transport.js';\nimport { c } from './local.js';",
    },
  ]);
  t.deepEqual(violations, [
    'src/raft/raft.ts: raft -> broker (../broker/broker.js)',
    'src/cluster/node.ts: cluster -> broker (../broker/replicated-log.js)',
    'src/broker/broker.ts: broker -> testing (../testing/sim/simulation.js)',
    'src/raft/entry.ts: raft -> protocol (../protocol/record-batch-header.js)',
    "src/nowhere/file.ts: folder 'nowhere' has no entry in the layer table",
    'src/cluster/native.ts: imports the native binding (#native)',
  ]);
});
