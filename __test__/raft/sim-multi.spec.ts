/**
 * The multi-group simulator (src/testing/sim-multi): the production MultiRaftNode, MultiRaftHost
 * and DurableRaftStorage under seeded faults. A sweep of seeds must be clean; each known defect
 * planted back into MultiRaftNode must be caught by the same default swarm within those seeds
 * (so a clean sweep means something); a seed replays exactly; the simulated disk loses what
 * its fault model says and nothing else.
 */
import test from 'ava';
import type { MultiRaftDefect } from '../../src/cluster/multi-raft-node.js';
import { logIndex, nodeId, term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { encodeSingleRecordBatch } from '../../src/raft/entry.js';
import { GroupDisk } from '../../src/testing/sim-multi/disk.js';
import { runMultiSeed, type SimMultiResult } from '../../src/testing/sim-multi/simulation.js';

/** Seeds of the clean sweep, and the budget within which a planted defect must be caught. */
const SEEDS = 30;

const replay = (seed: number, defects: MultiRaftDefect[] = []) =>
  `node --import=tsx src/testing/sim-multi/cli.ts --seed ${seed}${defects.length > 0 ? ` --plant ${defects.join(',')}` : ''} --verbose`;

test.serial(`seeds 1..${SEEDS} of the multi-group simulator pass every checker`, async (t) => {
  const failures: string[] = [];
  let acked = 0;
  let lossyCrashes = 0;
  let partitions = 0;
  let membershipChanges = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = await runMultiSeed(seed);
    acked += result.acked;
    lossyCrashes += result.lossyCrashes;
    partitions += result.partitions;
    membershipChanges += result.membershipChanges;
    if (!result.ok) failures.push(`seed ${seed}: ${result.failure} (replay: ${replay(seed)})`);
  }
  t.deepEqual(failures, []);
  // The sweep exercised what it claims to: writes, crashes that lost data, partitions, churn.
  t.true(acked > 1000, `${acked} acknowledged writes`);
  t.true(lossyCrashes > 20, `${lossyCrashes} crashes lost unsynced writes`);
  t.true(partitions > 50, `${partitions} partitions`);
  t.true(membershipChanges > 20, `${membershipChanges} membership changes`);
});

/** Runs seeds 1..SEEDS with `defect` planted until one fails; returns that failure. */
async function firstCatch(defect: MultiRaftDefect): Promise<SimMultiResult | undefined> {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = await runMultiSeed(seed, { defects: [defect] });
    if (!result.ok) return result;
  }
  return undefined;
}

test.serial(
  'the default swarm catches a HardState written beside the log fsync (planted defect 2)',
  async (t) => {
    const caught = await firstCatch('hard-state-with-entries');
    t.truthy(caught, `not caught within seeds 1..${SEEDS}`);
    t.regex(caught?.failure ?? '', /persist order|state machine safety|crash loop/);
    t.log(`caught by seed ${caught?.seed}: ${caught?.failure}`);
  },
);

test.serial(
  'the default swarm catches a quiet leader that never wakes when cut off (planted defect 3)',
  async (t) => {
    const caught = await firstCatch('quiet-leader-never-wakes');
    t.truthy(caught, `not caught within seeds 1..${SEEDS}`);
    t.regex(caught?.failure ?? '', /stale leader/);
    t.log(`caught by seed ${caught?.seed}: ${caught?.failure}`);
  },
);

test.serial(
  'the seeds that found quiescence gaps pass: a learner a commit behind in a quiet group (7224), a mute quiet leader that still hears a quorum (7356, 8000)',
  async (t) => {
    for (const seed of [7224, 7356, 8000]) {
      const result = await runMultiSeed(seed);
      t.true(result.ok, `seed ${seed}: ${result.failure} (replay: ${replay(seed)})`);
    }
  },
);

test.serial('a seed replays exactly', async (t) => {
  const first = await runMultiSeed(7);
  const second = await runMultiSeed(7);
  t.deepEqual(second, first);
  t.true(first.events > 1000);
});

test('the simulated disk: a kill keeps everything written; a power loss keeps what was synced and at most a prefix of the rest, and usually loses something', async (t) => {
  const batch = (value: string, offset: number) => {
    const bytes = encodeSingleRecordBatch({
      term: term(1),
      timestampMs: 0,
      key: null,
      value: Buffer.from(value),
    });
    bytes.writeBigInt64BE(BigInt(offset), 0);
    return bytes;
  };
  /** A disk holding [a b] synced, [c] and state-1 written but unsynced, killed, then [d e] and state-2 unsynced. */
  async function prepared(): Promise<GroupDisk> {
    const due: Array<() => void> = [];
    const schedule = (_delayMs: number, run: () => void) => due.push(run);
    const complete = () => {
      for (const run of due.splice(0)) run();
    };
    const disk = new GroupDisk({ voters: [nodeId(1)], learners: [] });
    let log = disk.openLog(schedule, new Prng(1), { maxMs: 0 });
    let state = disk.openStateFile(schedule, new Prng(1), { maxMs: 0 });
    log.append([batch('a', 0), batch('b', 1)]);
    const synced = log.sync();
    t.throws(() => log.termAt(logIndex(1)), undefined, 'the log refuses calls while it syncs');
    complete();
    t.is(await synced, logIndex(2));
    log.append([batch('c', 2)]);
    const written = state.writeAtomically(Buffer.from('state-1'));
    complete();
    await written;
    t.true(disk.hasReorderedWrites, 'the state write landed after an unsynced log write');
    disk.crash(new Prng(0), false); // a kill: the page cache survives
    log = disk.openLog(schedule, new Prng(1), { maxMs: 0 });
    state = disk.openStateFile(schedule, new Prng(1), { maxMs: 0 });
    t.is(log.lastIndex, logIndex(3));
    t.deepEqual(state.read(), Buffer.from('state-1'));
    log.append([batch('d', 3), batch('e', 4)]);
    const second = state.writeAtomically(Buffer.from('state-2'));
    complete();
    await second;
    return disk;
  }
  let lostSomething = 0;
  for (let seed = 0; seed < 40; seed++) {
    const disk = await prepared();
    disk.crash(new Prng(seed), true);
    const schedule = () => undefined;
    const log = disk.openLog(schedule, new Prng(1), { maxMs: 0 });
    const state = disk.openStateFile(schedule, new Prng(1), { maxMs: 0 });
    t.true(
      log.lastIndex >= 3 && log.lastIndex <= 5,
      `the synced prefix survives (last index ${log.lastIndex})`,
    );
    const content = state.read()?.toString();
    t.true(
      content === 'state-1' || content === 'state-2',
      `the state file is an old or the new content (${content})`,
    );
    if (log.lastIndex < 5 || content === 'state-1') lostSomething++;
  }
  t.true(lostSomething > 30, `a power loss usually loses something (${lostSomething} of 40)`);
});
