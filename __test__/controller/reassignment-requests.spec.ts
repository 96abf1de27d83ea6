/**
 * Reassignment asked for through the Kafka API (src/controller/reassignment-requests.ts): what a
 * request is checked against, where a cancel stops (a half-done move ends at a safe membership),
 * how a move is listed, which moves run under the bound, and the preferred leader a finished
 * move leaves.
 */
import test, { type ExecutionContext } from 'ava';
import {
  ControllerState,
  cancelTarget,
  decideReassignment,
  movesToAdvance,
  nextMoveStep,
  type PartitionInfo,
  reassignmentView,
} from '../../src/controller/index.js';
import { registerBroker, topicId } from './fixtures.js';

function applyOk(
  t: ExecutionContext,
  state: ControllerState,
  record: Parameters<ControllerState['apply']>[0],
) {
  t.deepEqual(state.apply(record), { ok: true });
  state.assertInvariants();
}

/** Brokers 1..5, topic `t` with one partition per replica list (groups 1, 2, ...). */
function stateWith(t: ExecutionContext, assignments: number[][]): ControllerState {
  const state = ControllerState.empty();
  for (let id = 1; id <= 5; id++) applyOk(t, state, registerBroker(id));
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

test('a target is refused for an unknown partition, an empty list, a broker named twice, an unknown, fenced or leaving broker', (t) => {
  const state = stateWith(t, [[1, 2, 3]]);
  applyOk(t, state, { type: 'fence-broker', brokerId: 4 });
  applyOk(t, state, { type: 'broker-decommission', brokerId: 5, decommissioning: true });
  const refusal = (topic: string, partition: number, replicas: number[] | null) => {
    const decision = decideReassignment(state, { topic, partition, replicas });
    return decision.kind === 'refused' ? `${decision.errorName}: ${decision.message}` : decision;
  };
  t.is(refusal('u', 0, [1, 2, 3]), 'UNKNOWN_TOPIC_OR_PARTITION: no partition u-0');
  t.is(refusal('t', 1, [1, 2, 3]), 'UNKNOWN_TOPIC_OR_PARTITION: no partition t-1');
  t.is(refusal('t', 0, []), 'INVALID_REPLICA_ASSIGNMENT: the replica list is empty');
  t.is(
    refusal('t', 0, [2, 1, 2]),
    'INVALID_REPLICA_ASSIGNMENT: the replica list names broker 2 more than once',
  );
  t.is(refusal('t', 0, [1, 2, 9]), 'INVALID_REPLICA_ASSIGNMENT: broker 9 is not registered in the cluster');
  t.is(refusal('t', 0, [4, 2, 1]), 'INVALID_REPLICA_ASSIGNMENT: broker 4 is fenced (not heartbeating)');
  t.is(refusal('t', 0, [5, 2, 1]), 'INVALID_REPLICA_ASSIGNMENT: broker 5 is being decommissioned');
  t.is(refusal('t', 0, null), 'NO_REASSIGNMENT_IN_PROGRESS: t-0 has no reassignment in progress');
  applyOk(t, state, { type: 'unfence-broker', brokerId: 4 });
  t.deepEqual(refusal('t', 0, [4, 2, 1]), { kind: 'record', groupId: 1, target: [4, 2, 1] });
});

test('a finished move leaves the target in its order with its first broker as preferred leader; a reordering alone applies at once', (t) => {
  const state = stateWith(t, [[1, 2, 3]]);
  applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target: [4, 2, 1] });
  applyOk(t, state, { type: 'partition-replicas', groupId: 1, replicas: [1, 2, 3], learners: [4] });
  applyOk(t, state, { type: 'partition-replicas', groupId: 1, replicas: [4, 2, 1, 3], learners: [] });
  t.is(state.partitionByGroup(1)!.preferredLeader, 1, 'the preferred leader holds while the move runs');
  applyOk(t, state, { type: 'partition-replicas', groupId: 1, replicas: [4, 2, 1], learners: [] });
  const done = state.partitionByGroup(1)!;
  t.like(done, { replicas: [4, 2, 1], preferredLeader: 4, targetReplicas: [] });

  applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target: [2, 1, 4] });
  t.like(state.partitionByGroup(1)!, { replicas: [2, 1, 4], preferredLeader: 2, targetReplicas: [] });
});

/** Drives the move of group 1 with a model of its Raft membership until no target is left. */
function driveToEnd(
  t: ExecutionContext,
  state: ControllerState,
  raft: { voters: number[]; learners: number[] },
) {
  for (let steps = 0; state.partitionByGroup(1)!.targetReplicas.length > 0; steps++) {
    if (steps > 30) return t.fail('the move does not end');
    const partition = state.partitionByGroup(1)!;
    const step = nextMoveStep(partition, {
      leader: 1,
      voters: [...raft.voters],
      learners: [...raft.learners],
      caughtUp: [...raft.voters, ...raft.learners],
      changePending: false,
    });
    if (step.kind === 'record')
      applyOk(t, state, {
        type: 'partition-replicas',
        groupId: 1,
        replicas: step.replicas,
        learners: step.learners,
      });
    else if (step.kind === 'add-learner') raft.learners.push(step.brokerId);
    else if (step.kind === 'promote') {
      raft.learners = raft.learners.filter((id) => id !== step.brokerId);
      raft.voters.push(step.brokerId);
    } else if (step.kind === 'remove') {
      raft.voters = raft.voters.filter((id) => id !== step.brokerId);
      raft.learners = raft.learners.filter((id) => id !== step.brokerId);
    } else return t.fail(`unexpected step ${step.kind}`);
    // Never a member Raft counts that metadata does not name: no replica deleted while in use.
    const named = [...state.partitionByGroup(1)!.replicas, ...state.partitionByGroup(1)!.learners];
    for (const id of [...raft.voters, ...raft.learners]) t.true(named.includes(id), `broker ${id} named`);
  }
}

test('a cancel stops at the voters: a learner added for the move is removed from Raft, then from metadata', (t) => {
  const state = stateWith(t, [[1, 2, 3]]);
  applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target: [4, 2, 1] });
  applyOk(t, state, { type: 'partition-replicas', groupId: 1, replicas: [1, 2, 3], learners: [4] });
  const raft = { voters: [1, 2, 3], learners: [4] };
  const decision = decideReassignment(state, { topic: 't', partition: 0, replicas: null });
  t.deepEqual(decision, { kind: 'record', groupId: 1, target: [1, 2, 3] });
  applyOk(t, state, {
    type: 'partition-reassignment',
    groupId: 1,
    target: cancelTarget(state.partitionByGroup(1)!),
  });
  driveToEnd(t, state, raft);
  t.deepEqual(raft, { voters: [1, 2, 3], learners: [] });
  t.like(state.partitionByGroup(1)!, {
    replicas: [1, 2, 3],
    learners: [],
    preferredLeader: 1,
    targetReplicas: [],
  });
});

test('a cancel after a promotion keeps the promoted voter (nothing is removed that the move had made a voter)', (t) => {
  const state = stateWith(t, [[1, 2, 3]]);
  applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target: [4, 2, 1] });
  applyOk(t, state, { type: 'partition-replicas', groupId: 1, replicas: [4, 2, 1, 3], learners: [] });
  applyOk(t, state, {
    type: 'partition-reassignment',
    groupId: 1,
    target: cancelTarget(state.partitionByGroup(1)!),
  });
  t.like(state.partitionByGroup(1)!, { replicas: [1, 4, 2, 3], preferredLeader: 1, targetReplicas: [] });
});

test('ListPartitionReassignments view: the target then the members leaving; adding are target brokers not yet voters', (t) => {
  const state = stateWith(t, [[1, 2, 3]]);
  applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target: [4, 5, 1] });
  applyOk(t, state, { type: 'partition-replicas', groupId: 1, replicas: [1, 2, 3, 4], learners: [5] });
  t.deepEqual(reassignmentView(state.partitionByGroup(1)!), {
    replicas: [4, 5, 1, 2, 3],
    addingReplicas: [5],
    removingReplicas: [2, 3],
  });
});

test('movesToAdvance: every move under way, then the lowest groups up to the bound', (t) => {
  const state = stateWith(t, [
    [1, 2, 3],
    [1, 2, 3],
    [1, 2, 3],
    [1, 2, 3],
  ]);
  for (const groupId of [1, 2, 3, 4])
    applyOk(t, state, { type: 'partition-reassignment', groupId, target: [4, 2, 1] });
  applyOk(t, state, { type: 'partition-replicas', groupId: 4, replicas: [1, 2, 3], learners: [4] });
  const partitions: PartitionInfo[] = state.topicByName('t')!.partitions;
  const groups = (max: number) => movesToAdvance(partitions, max).map((partition) => partition.groupId);
  t.deepEqual(groups(2), [4, 1]);
  t.deepEqual(groups(1), [4]);
  t.deepEqual(groups(8), [4, 1, 2, 3]);
});
