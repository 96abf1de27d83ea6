import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
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
