/**
 * The move planner (src/controller/reassignment.ts) against a model of a partition's Raft
 * membership, and the records that carry moves (partition-reassignment, broker-decommission).
 */
import test, { type ExecutionContext } from 'ava';
import {
  ControllerState,
  decodeRecord,
  decommissionProblem,
  type MoveStep,
  nextMoveStep,
  type ObservedMembership,
  type PartitionInfo,
  planMoves,
} from '../../src/controller/index.js';
import { Prng } from '../../src/lib/prng.js';
import { registerBroker, topicId } from './fixtures.js';

function applyOk(
  t: ExecutionContext,
  state: ControllerState,
  record: Parameters<ControllerState['apply']>[0],
) {
  const result = state.apply(record);
  t.deepEqual(result, { ok: true });
  state.assertInvariants();
}

/** Brokers 1..count (racks when given), one topic `t` with `assignments`. */
function cluster(
  t: ExecutionContext,
  count: number,
  assignments: number[][],
  racks: Array<string | null> = [],
): ControllerState {
  const state = ControllerState.empty();
  for (let id = 1; id <= count; id++) applyOk(t, state, registerBroker(id, { rack: racks[id - 1] ?? null }));
  applyOk(t, state, {
    type: 'create-topic',
    name: 't',
    topicId: topicId(1),
    configs: {},
    replicationFactor: assignments[0]!.length,
    partitions: assignments.map((replicas, index) => ({ groupId: index + 1, replicas })),
  });
  return state;
}

/** A partition's Raft group as the model sees it: committed membership, who leads, who caught up. */
interface RaftModel {
  voters: number[];
  learners: number[];
  leader: number;
  caughtUp: Set<number>;
}

function observe(raft: RaftModel): ObservedMembership {
  return {
    leader: raft.leader,
    voters: [...raft.voters],
    learners: [...raft.learners],
    caughtUp: [...raft.caughtUp],
    changePending: false,
  };
}

/** Carries out `step` on the model or the state, as the broker's task does. */
function carryOut(
  t: ExecutionContext,
  state: ControllerState,
  raft: RaftModel,
  groupId: number,
  step: MoveStep,
) {
  switch (step.kind) {
    case 'wait':
      // Learners catch up while the controller waits.
      for (const id of raft.learners) raft.caughtUp.add(id);
      return;
    case 'record':
      applyOk(t, state, {
        type: 'partition-replicas',
        groupId,
        replicas: step.replicas,
        learners: step.learners,
      });
      return;
    case 'add-learner':
      raft.learners.push(step.brokerId);
      return;
    case 'promote':
      raft.learners = raft.learners.filter((id) => id !== step.brokerId);
      raft.voters.push(step.brokerId);
      return;
    case 'remove':
      t.not(step.brokerId, raft.leader, 'the leader is never removed while it leads');
      raft.voters = raft.voters.filter((id) => id !== step.brokerId);
      raft.learners = raft.learners.filter((id) => id !== step.brokerId);
      return;
    case 'transfer-leader':
      t.true(raft.voters.includes(step.brokerId));
      raft.leader = step.brokerId;
      return;
  }
}

/** Metadata always names every member Raft counts (no broker deletes a replica still in use), and
 * a move never leaves fewer voters than it started with. */
function checkSafety(
  t: ExecutionContext,
  partition: PartitionInfo,
  raft: RaftModel,
  replicationFactor: number,
) {
  const named = [...partition.replicas, ...partition.learners];
  for (const id of [...raft.voters, ...raft.learners])
    t.true(named.includes(id), `broker ${id} is in metadata`);
  t.true(raft.voters.length >= replicationFactor, 'never fewer voters than the replication factor');
}

function driveToEnd(
  t: ExecutionContext,
  state: ControllerState,
  raft: RaftModel,
  groupId: number,
  options: { prng?: Prng } = {},
): number {
  let steps = 0;
  for (;;) {
    const partition = state.partitionByGroup(groupId)!;
    if (partition.targetReplicas.length === 0) return steps;
    t.true(++steps < 50, 'the move ends');
    if (steps >= 50) return steps;
    // A controller failover between a Raft change and its record just means the next leader
    // computes the step again from the same inputs: the step function keeps no memory.
    const step = nextMoveStep(partition, options.prng?.chance(0.2) ? undefined : observe(raft));
    carryOut(t, state, raft, groupId, step);
    checkSafety(t, state.partitionByGroup(groupId)!, raft, 3);
  }
}

test('a move replaces a dead follower: learner in metadata, then Raft, catch-up, promotion, removal; the target clears at the end', (t) => {
  const state = cluster(t, 4, [[1, 2, 3]]);
  const raft: RaftModel = { voters: [1, 2, 3], learners: [], leader: 1, caughtUp: new Set([2]) };
  applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target: [1, 2, 4] });
  const kinds: string[] = [];
  for (;;) {
    const partition = state.partitionByGroup(1)!;
    if (partition.targetReplicas.length === 0) break;
    const step = nextMoveStep(partition, observe(raft));
    kinds.push(
      step.kind === 'wait' ? 'wait' : `${step.kind}${'brokerId' in step ? ` ${step.brokerId}` : ''}`,
    );
    carryOut(t, state, raft, 1, step);
    checkSafety(t, state.partitionByGroup(1)!, raft, 3);
  }
  t.deepEqual(kinds, ['record', 'add-learner 4', 'wait', 'promote 4', 'record', 'remove 3', 'record']);
  const done = state.partitionByGroup(1)!;
  t.deepEqual(done.replicas, [1, 2, 4]);
  t.deepEqual(done.learners, []);
  t.deepEqual(done.targetReplicas, []);
  t.deepEqual(raft.voters.sort(), [1, 2, 4]);
});

test('a move off the partition leader hands leadership over before the removal', (t) => {
  const state = cluster(t, 4, [[1, 2, 3]]);
  const raft: RaftModel = { voters: [1, 2, 3], learners: [], leader: 3, caughtUp: new Set([1, 2]) };
  applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target: [1, 2, 4] });
  driveToEnd(t, state, raft, 1);
  t.not(raft.leader, 3);
  t.deepEqual([...raft.voters].sort(), [1, 2, 4]);
  t.deepEqual(state.partitionByGroup(1)!.replicas, [1, 2, 4]);
});

test('moves end safely whatever the interleaving of missing reports (seeded)', (t) => {
  for (let seed = 1; seed <= 200; seed++) {
    const prng = new Prng(seed);
    const state = cluster(t, 6, [[1, 2, 3]]);
    const raft: RaftModel = { voters: [1, 2, 3], learners: [], leader: prng.int(1, 3), caughtUp: new Set() };
    for (const id of raft.voters) if (id !== raft.leader) raft.caughtUp.add(id);
    const target = prng.chance(0.5) ? [4, 2, 3] : [5, 6, 1];
    applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target });
    driveToEnd(t, state, raft, 1, { prng });
    t.deepEqual([...raft.voters].sort(), [...target].sort(), `seed ${seed}`);
    t.deepEqual([...state.partitionByGroup(1)!.replicas].sort(), [...target].sort());
  }
});

test('a Raft change committed before the controller recorded it is recorded by the next step', (t) => {
  const state = cluster(t, 4, [[1, 2, 3]]);
  applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target: [1, 2, 4] });
  applyOk(t, state, { type: 'partition-replicas', groupId: 1, replicas: [1, 2, 3], learners: [4] });
  // The promotion committed in Raft; the old controller leader died before its record.
  const raft: RaftModel = { voters: [1, 2, 3, 4], learners: [], leader: 1, caughtUp: new Set([2, 3, 4]) };
  t.deepEqual(nextMoveStep(state.partitionByGroup(1)!, observe(raft)), {
    kind: 'record',
    replicas: [1, 2, 4, 3],
    learners: [],
  });
  t.deepEqual(
    nextMoveStep(state.partitionByGroup(1)!, { ...observe(raft), changePending: true }).kind,
    'wait',
  );
});

test('planMoves replaces each replica on an evacuated broker with the least loaded live broker, bounded in flight', (t) => {
  const state = cluster(t, 4, [
    [1, 2, 3],
    [2, 3, 1],
    [3, 1, 2],
    [1, 2, 4],
  ]);
  applyOk(t, state, { type: 'fence-broker', brokerId: 3 });
  const partitions = state.topics().flatMap((topic) => topic.partitions);
  const { moves, blocked } = planMoves({
    brokers: state.brokers(),
    partitions,
    evacuate: new Set([3]),
    maxMovesInFlight: 2,
  });
  t.deepEqual(blocked, []);
  t.deepEqual(moves, [
    { groupId: 1, target: [1, 2, 4] },
    { groupId: 2, target: [2, 4, 1] },
  ]);
  const all = planMoves({
    brokers: state.brokers(),
    partitions,
    evacuate: new Set([3]),
    maxMovesInFlight: 10,
  });
  t.is(all.moves.length, 3);
  for (const move of all.moves) t.false(move.target.includes(3));
});

test('planMoves puts a replacement on a rack the partition does not use yet', (t) => {
  const state = cluster(t, 5, [[1, 2, 3]], ['a', 'b', 'c', 'a', 'c']);
  const { moves } = planMoves({
    brokers: state.brokers(),
    partitions: state.topics()[0]!.partitions,
    evacuate: new Set([3]),
    maxMovesInFlight: 1,
  });
  // Broker 5 is on rack c, the rack broker 3 leaves free; broker 4 would double rack a.
  t.deepEqual(moves, [{ groupId: 1, target: [1, 2, 5] }]);
});

test('planMoves leaves a partition whose majority is down blocked, and re-targets a move whose new broker died', (t) => {
  const state = cluster(t, 5, [
    [1, 2, 3],
    [1, 4, 5],
  ]);
  applyOk(t, state, { type: 'fence-broker', brokerId: 2 });
  applyOk(t, state, { type: 'fence-broker', brokerId: 3 });
  applyOk(t, state, { type: 'partition-reassignment', groupId: 2, target: [1, 4, 2] });
  const { moves, blocked } = planMoves({
    brokers: state.brokers(),
    partitions: state.topics()[0]!.partitions,
    evacuate: new Set([2, 3]),
    maxMovesInFlight: 1,
  });
  t.deepEqual(blocked, [{ groupId: 1, reason: 'a majority of its replicas is down' }]);
  t.deepEqual(moves, [{ groupId: 2, target: [1, 4, 5] }]);
});

test('decommission is refused when the other live brokers cannot hold the replication factor', (t) => {
  const state = cluster(t, 3, [[1, 2, 3]]);
  const partitions = state.topics()[0]!.partitions;
  t.regex(decommissionProblem(state.brokers(), partitions, 3) ?? '', /only 2 other live brokers/);
  applyOk(t, state, registerBroker(4));
  t.is(decommissionProblem(state.brokers(), partitions, 3), null);
  applyOk(t, state, { type: 'broker-decommission', brokerId: 3, decommissioning: true });
  t.true(state.broker(3)!.decommissioning);
  // A re-registration (restart) keeps the flag.
  applyOk(t, state, registerBroker(3, { incarnationId: 'again' }));
  t.true(state.broker(3)!.decommissioning);
  const { moves } = planMoves({
    brokers: state.brokers(),
    partitions,
    evacuate: new Set([3]),
    maxMovesInFlight: 1,
  });
  t.deepEqual(moves, [{ groupId: 1, target: [1, 2, 4] }]);
});

test('partition-reassignment refuses unknown or repeated brokers, and a target already reached is no move', (t) => {
  const state = cluster(t, 3, [[1, 2, 3]]);
  t.like(state.apply({ type: 'partition-reassignment', groupId: 1, target: [1, 9] }), {
    ok: false,
    errorName: 'INVALID_REPLICA_ASSIGNMENT',
  });
  t.like(state.apply({ type: 'partition-reassignment', groupId: 1, target: [1, 1] }), { ok: false });
  t.like(state.apply({ type: 'partition-reassignment', groupId: 99, target: [1] }), {
    ok: false,
    errorName: 'UNKNOWN_TOPIC_OR_PARTITION',
  });
  applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target: [3, 2, 1] });
  t.deepEqual(state.partitionByGroup(1)!.targetReplicas, []);
  applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target: [1, 2] });
  t.deepEqual(state.partitionByGroup(1)!.targetReplicas, [1, 2]);
  // Snapshots carry the target and the flag.
  applyOk(t, state, { type: 'broker-decommission', brokerId: 2, decommissioning: true });
  const restored = ControllerState.decodeSnapshot(state.encodeSnapshot());
  t.deepEqual(restored.encodeSnapshot(), state.encodeSnapshot());
  t.deepEqual(restored.partitionByGroup(1)!.targetReplicas, [1, 2]);
  t.true(restored.broker(2)!.decommissioning);
});

test('format version 1 records and snapshots are still read; the new record types need version 2', (t) => {
  const v1 = (json: string) => new Uint8Array([1, ...new TextEncoder().encode(json)]);
  t.deepEqual(decodeRecord(v1('{"type":"fence-broker","brokerId":1}')), {
    type: 'fence-broker',
    brokerId: 1,
  });
  t.throws(() => decodeRecord(v1('{"type":"partition-reassignment","groupId":1,"target":[]}')), {
    message: /version 2/,
  });
  const state = cluster(t, 2, [[1, 2]]);
  const snapshot = JSON.parse(new TextDecoder().decode(state.encodeSnapshot().subarray(1)));
  for (const broker of snapshot.brokers) delete broker.decommissioning;
  for (const topic of snapshot.topics)
    for (const partition of topic.partitions) {
      delete partition.targetReplicas;
      delete partition.placedByOperator;
    }
  const restored = ControllerState.decodeSnapshot(v1(JSON.stringify(snapshot)));
  t.deepEqual(restored.encodeSnapshot(), state.encodeSnapshot());
});
