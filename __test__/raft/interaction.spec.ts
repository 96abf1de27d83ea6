/**
 * Runs every script in testdata/: each file is one scenario (tagged with the Raft paper or
 * thesis section it checks in its first comment). Regenerate expected output with
 * `REWRITE=1 npx ava __test__/raft/interaction.spec.ts` and review the diff.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { runDataDriven } from '../../src/testing/datadriven.js';
import { InteractionEnv } from '../../src/testing/interaction.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const rewrite = process.env.REWRITE === '1';

for (const name of readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort()) {
  const path = join(dir, name);
  const content = readFileSync(path, 'utf8');
  const title = content.split('\n')[0]!.replace(/^#\s*/, '');
  test(`${name}: ${title}`, (t) => {
    const env = new InteractionEnv();
    const result = runDataDriven(content, (command) => env.handle(command));
    if (rewrite) {
      writeFileSync(path, result.rewritten);
      t.pass();
      return;
    }
    for (const f of result.failures) {
      t.is(f.actual, f.expected, `${name}:${f.line}: ${f.command}`);
    }
    t.is(result.failures.length, 0);
  });
}
