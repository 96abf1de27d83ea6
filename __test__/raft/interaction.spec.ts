/**
 * Runs every script in testdata/: each file is one scenario (tagged with the Raft paper or
 * thesis section it checks in its first comment). Regenerate expected output with
 * `REWRITE=1 npx ava __test__/raft/interaction.spec.ts` and review the diff.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { TestOnlyDefect } from '../../src/raft/raft.js';
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

/**
 * Each regression script must fail with its defect planted back (RawNodeOptions.testOnlyDefects),
 * at the step that shows the defect: the script would have caught it.
 */
const planted: Array<{ file: string; defect: TestOnlyDefect; shows: string }> = [
  {
    file: 'read-index-demoted-leader.txt',
    defect: 'single-voter-read',
    shows: 'read state: index=4 context=stale-read',
  },
  {
    file: 'membership-removed-voter.txt',
    defect: 'keep-no-progress-for-removed',
    shows: '3->1 vote term=3',
  },
  {
    // The re-added node, cut off, elects itself sole voter and commits its own entry 2.
    file: 'membership-rejoin-empty.txt',
    defect: 'rejoin-trusts-old-seat',
    shows: 'committed: 4/2 noop',
  },
  {
    // The deleted replica's match commits entries only the leader holds.
    file: 'membership-readd-departing.txt',
    defect: 'readded-keeps-progress',
    shows: 'committed: 2/3 Remove 3, 2/4 "x", 2/5 "y"',
  },
  {
    // The leader probes the emptied follower at match + 1 forever.
    file: 'replication-lost-log.txt',
    defect: 'no-restart-after-loss',
    shows: 'stabilize did not converge',
  },
  {
    // The stale candidate's term 3 restarts node 1's election timer.
    file: 'election-timer-kept-on-rejection.txt',
    defect: 'restart-timer-on-higher-term',
    shows: 'elapsed=0 timeout=12',
  },
  {
    // The learner ignores the leader's term-2 appends; the leader never learns term 3.
    file: 'stale-term-learner.txt',
    defect: 'silent-to-stale-leader',
    shows: '1: leader term=2 leader=1 commit=4 applied=4 last=5',
  },
];

for (const { file, defect, shows } of planted) {
  test(`${file} fails with the defect '${defect}' planted back, showing "${shows}"`, (t) => {
    const env = new InteractionEnv({ testOnlyDefects: new Set([defect]) });
    const result = runDataDriven(readFileSync(join(dir, file), 'utf8'), (command) => env.handle(command));
    t.true(result.failures.length > 0, 'the script passes with the defect planted');
    t.true(
      result.failures.some((f) => f.actual.includes(shows)),
      `no step shows "${shows}"; failures:\n${result.failures.map((f) => `${f.line}: ${f.actual}`).join('\n')}`,
    );
  });
}
