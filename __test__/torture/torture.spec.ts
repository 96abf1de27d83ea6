/**
 * The fault harness on real broker processes (docs/reliability.md): a planted durability bug
 * (a leader acknowledging a produce before the Raft commit) is caught as lost writes after
 * leader kills, so a clean run means something; and short clean runs under kill -9, pause and
 * network partitions lose nothing acknowledged, never give one offset two values and never
 * duplicate an idempotent producer's write.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runTorture, summarize, type TortureReport } from '../../src/testing/torture/run.js';

function runDirectory(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'goqueue-torture-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function anomalyCount(report: TortureReport, name: keyof TortureReport['check']['anomalies']): number {
  return report.check.anomalies[name].count;
}

test.serial(
  'the checker catches the planted acknowledge-before-commit bug as lost writes when a partition leader is cut off or killed',
  async (t) => {
    t.timeout(240_000);
    // A leader cut off from its followers keeps acknowledging (until check-quorum demotes it)
    // what it can never commit; a killed leader loses what it acknowledged and had not committed.
    const report = await runTorture({
      brokers: 3,
      seconds: 20,
      seed: 6,
      nemeses: ['partition', 'kill'],
      roles: ['partition-leader'],
      partitionModes: ['majority-minority'],
      plantedBug: true,
      runDir: join(runDirectory(t), 'planted'),
    });
    t.log(summarize(report));
    t.true(anomalyCount(report, 'lost') > 0, 'acknowledged writes that were never committed are lost');
    t.false(report.valid);
  },
);

test.serial(
  'two short clean runs under kill -9, pause and raft-link partitions lose nothing and duplicate nothing idempotent',
  async (t) => {
    t.timeout(300_000);
    const dir = runDirectory(t);
    // The two seeds run side by side (two clusters) to keep the test's wall time down.
    const reports = await Promise.all(
      [11, 12].map((seed) =>
        runTorture({
          brokers: 3,
          seconds: 20,
          seed,
          nemeses: ['kill', 'pause', 'partition'],
          runDir: join(dir, `seed-${seed}`),
        }),
      ),
    );
    for (const report of reports) {
      t.log(summarize(report));
      t.true(report.check.counts.sendOk > 0, 'the workload wrote through the faults');
      t.is(anomalyCount(report, 'lost'), 0);
      t.is(anomalyCount(report, 'inconsistent-offsets'), 0);
      t.is(anomalyCount(report, 'duplicated-idempotent'), 0);
      t.deepEqual(report.defects, []);
      t.true(report.valid);
    }
  },
);
