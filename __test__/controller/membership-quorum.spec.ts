/**
 * Membership changes that must not cost a group its quorum of live members: the removal order of
 * a partition move (src/controller/reassignment.ts, nextMoveStep) and the demotion order of the
 * controller voter role (src/controller/controller-voters.ts), with a member dead while they run.
 * A Raft change commits only while a majority of the voters is alive; after each one the voters
 * must still hold a live majority, or the group can commit nothing until the dead one returns.
 */
import test, { type ExecutionContext } from 'ava';
import {
  type ControllerGroupMembership,
  nextControllerVoterStep,
} from '../../src/controller/controller-voters.js';
import { ControllerState, nextMoveStep, type ObservedMembership } from '../../src/controller/index.js';
import { brokerInfo, registerBroker, topicId } from './fixtures.js';

interface RaftModel {
  voters: number[];
  learners: number[];
  leader: number;
}

function liveMajority(voters: readonly number[], dead: ReadonlySet<number>): boolean {
  return voters.filter((id) => !dead.has(id)).length * 2 > voters.length;
}

/**
 * Drives the move of group 1 to its end (or until it waits twice in a row: stuck) on a model
 * whose `dead` brokers never answer: they are never caught up, and a change commits only with a
 * live majority of the voters. Returns the steps taken.
 */
function driveMove(
  t: ExecutionContext,
  state: ControllerState,
  raft: RaftModel,
  dead: Set<number>,
): string[] {
  const steps: string[] = [];
  let waits = 0;
  for (let round = 0; round < 40; round++) {
    const partition = state.partitionByGroup(1)!;
    if (partition.targetReplicas.length === 0) return steps;
    const members = [...raft.voters, ...raft.learners];
    const observed: ObservedMembership = {
      leader: raft.leader,
      voters: [...raft.voters],
      learners: [...raft.learners],
      caughtUp: members.filter((id) => !dead.has(id)),
      changePending: false,
    };
    const step = nextMoveStep(partition, observed);
    steps.push(
      step.kind === 'wait'
        ? `wait (${step.reason})`
        : `${step.kind} ${'brokerId' in step ? step.brokerId : ''}`.trim(),
    );
    if (step.kind === 'wait') {
      if (++waits >= 2) return steps;
      continue;
    }
    waits = 0;
    if (step.kind === 'record') {
      t.deepEqual(
        state.apply({
          type: 'partition-replicas',
          groupId: 1,
          replicas: step.replicas,
          learners: step.learners,
        }),
        { ok: true },
      );
      continue;
    }
    t.true(liveMajority(raft.voters, dead), `a change of [${raft.voters}] cannot commit`);
    if (step.kind === 'add-learner') raft.learners.push(step.brokerId);
    else if (step.kind === 'promote') {
      raft.learners = raft.learners.filter((id) => id !== step.brokerId);
      raft.voters.push(step.brokerId);
    } else if (step.kind === 'remove') {
      raft.voters = raft.voters.filter((id) => id !== step.brokerId);
      raft.learners = raft.learners.filter((id) => id !== step.brokerId);
    } else raft.leader = step.brokerId;
    t.true(
      liveMajority(raft.voters, dead),
      `after ${steps.at(-1)} voters [${raft.voters}] lack a live majority`,
    );
  }
  return steps;
}

function partitionOn(t: ExecutionContext, brokers: number, replicas: number[]): ControllerState {
  const state = ControllerState.empty();
  for (let id = 1; id <= brokers; id++) t.deepEqual(state.apply(registerBroker(id)), { ok: true });
  t.deepEqual(
    state.apply({
      type: 'create-topic',
      name: 't',
      topicId: topicId(1),
      configs: {},
      replicationFactor: replicas.length,
      partitions: [{ groupId: 1, replicas }],
    }),
    { ok: true },
  );
  return state;
}

test('a move down to one replica removes the dead replica before a live one (never [leader, dead])', (t) => {
  const state = partitionOn(t, 3, [1, 2, 3]);
  t.deepEqual(state.apply({ type: 'partition-reassignment', groupId: 1, target: [1] }), { ok: true });
  const raft: RaftModel = { voters: [1, 2, 3], learners: [], leader: 1 };
  const steps = driveMove(t, state, raft, new Set([3]));
  t.deepEqual(raft.voters, [1], steps.join(', '));
  t.deepEqual(state.partitionByGroup(1)!.targetReplicas, [], steps.join(', '));
});

test('a removal waits while the voters it leaves would lack a caught-up majority (a kept replica died)', (t) => {
  const state = partitionOn(t, 3, [1, 2, 3]);
  t.deepEqual(state.apply({ type: 'partition-reassignment', groupId: 1, target: [1, 3] }), { ok: true });
  const raft: RaftModel = { voters: [1, 2, 3], learners: [], leader: 1 };
  // Broker 3 died after the target was accepted: removing 2 would leave [1, 3] with one live voter.
  const steps = driveMove(t, state, raft, new Set([3]));
  t.deepEqual(raft.voters, [1, 2, 3], steps.join(', '));
  t.regex(steps.at(-1)!, /^wait/);
});

function membershipOf(voters: number[], leader: number): ControllerGroupMembership {
  return { leader, voters, learners: [], caughtUp: voters, changePending: false };
}

test('controller voters above their target demote a dead leaving voter even when no broker can take the role', (t) => {
  // Voter 2 is decommissioning, voter 3 dead past replica_replace_after, learner 4 was promoted:
  // four voters with one dead tolerate no further loss, and stopping the decommissioned broker
  // 2 then would lose the controller quorum. Demoting 3 leaves [1, 2, 4], all live.
  const brokers = [
    brokerInfo(1),
    brokerInfo(2, { leaving: true }),
    brokerInfo(3, { fenced: true }),
    brokerInfo(4),
  ];
  const membership = { ...membershipOf([1, 2, 3, 4], 1), caughtUp: [1, 2, 4] };
  t.deepEqual(nextControllerVoterStep({ membership, brokers, leaving: new Set([2, 3]) }), {
    kind: 'demote',
    brokerId: 3,
  });
  // Five voters wanted, two dead, one learner promoted: six voters with two dead; one more dead
  // voter out leaves five with one dead.
  const six = [1, 2, 3, 4, 5, 6].map((id) => brokerInfo(id, { fenced: id === 4 || id === 5 }));
  t.deepEqual(
    nextControllerVoterStep({
      membership: { ...membershipOf([1, 2, 3, 4, 5, 6], 1), caughtUp: [1, 2, 3, 6] },
      brokers: six,
      leaving: new Set([4, 5]),
    }),
    { kind: 'demote', brokerId: 4 },
  );
});

test('a replica that is behind is removed even while the voters staying lag (it takes nothing streaming away)', (t) => {
  const state = partitionOn(t, 4, [1, 2, 3, 4]);
  t.deepEqual(state.apply({ type: 'partition-reassignment', groupId: 1, target: [1, 2, 3] }), { ok: true });
  const partition = state.partitionByGroup(1)!;
  // Under a burst of writes 2 and 3 trail by more than the caught-up lag; 4 is dead.
  const observed: ObservedMembership = {
    leader: 1,
    voters: [1, 2, 3, 4],
    learners: [],
    caughtUp: [1],
    changePending: false,
  };
  t.deepEqual(nextMoveStep(partition, observed), { kind: 'remove', brokerId: 4 });
});
