/**
 * A quick sweep of the deterministic simulator (the long sweep is `npm run sim -- --seeds N`).
 * Each seed runs the production RawNode under its own swarm of faults and checks election
 * safety, log matching, leader completeness, state machine safety, linearizable read indexes
 * and that every acknowledged write is in the final log once, in order.
 */
import test from 'ava';
import type { HardState } from '../../src/raft/types.js';
import { runSeed, type SimNode, Simulation } from '../../src/testing/sim/simulation.js';

const SEEDS = 150;

test(`the simulator finds no safety or liveness violation in seeds 1..${SEEDS}`, (t) => {
  const failures: string[] = [];
  let acked = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = runSeed(seed);
    acked += result.acked;
    if (!result.ok)
      failures.push(`seed ${seed}: ${result.failure} (replay: npm run sim -- --seed ${seed} --verbose)`);
  }
  t.deepEqual(failures, []);
  t.true(acked > SEEDS * 10, `the workload acknowledged only ${acked} writes`);
});

test('a seed replays exactly: same options, same outcome, same event count', (t) => {
  const first = runSeed(4242);
  const second = runSeed(4242);
  t.deepEqual(first, second);
  t.deepEqual(new Simulation(4242).options, new Simulation(4242).options);
});

/** A disk that acknowledges the term and vote without storing them: a restarted node forgets its vote. */
class ForgetfulDiskSimulation extends Simulation {
  protected override persistHardState(_node: SimNode, _hardState: HardState): void {}
}

test('the checkers catch a node that forgets its vote across a crash (the simulator cannot pass vacuously)', (t) => {
  const caught: string[] = [];
  for (let seed = 1; seed <= 20; seed++) {
    const result = new ForgetfulDiskSimulation(seed, {
      crashEveryMs: 200,
      initialVoters: 3,
      nodeCount: 3,
    }).run();
    if (result.failure?.startsWith('InvariantViolation: election safety')) caught.push(result.failure);
  }
  t.true(caught.length >= 5, `only ${caught.length} of 20 seeds caught two leaders in one term`);
});
