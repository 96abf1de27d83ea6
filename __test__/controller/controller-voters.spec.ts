/** Moving the controller voter role off a leaving broker (src/controller/controller-voters.ts). */
import test from 'ava';
import {
  type ControllerGroupMembership,
  controllerVoterGoal,
  controllerVoterProblem,
  controllerVoterTarget,
  nextControllerVoterStep,
} from '../../src/controller/controller-voters.js';
import { brokerInfo } from './fixtures.js';

const broker = brokerInfo;

/** Carries a step out on the membership the way the controller group would. */
function carryOut(
  membership: ControllerGroupMembership,
  step: ReturnType<typeof nextControllerVoterStep>,
): ControllerGroupMembership {
  const without = (list: readonly number[], id: number) => list.filter((other) => other !== id);
  switch (step.kind) {
    case 'promote':
      return {
        ...membership,
        voters: [...membership.voters, step.brokerId].sort(),
        learners: without(membership.learners, step.brokerId),
      };
    case 'demote':
      return {
        ...membership,
        voters: without(membership.voters, step.brokerId),
        learners: [...membership.learners, step.brokerId].sort(),
      };
    case 'add-learner':
      return { ...membership, learners: [...membership.learners, step.brokerId].sort() };
    case 'transfer-leader':
      return { ...membership, leader: step.brokerId };
    default:
      return membership;
  }
}

test('the target voter count is the largest odd count up to five', (t) => {
  t.deepEqual([1, 2, 3, 4, 5, 6, 7].map(controllerVoterTarget), [1, 1, 3, 3, 5, 5, 5]);
});

test('a decommissioned controller leader: a learner is promoted, leadership moves, then the leaver is demoted', (t) => {
  const brokers = [broker(1, { leaving: true }), broker(2), broker(3), broker(4)];
  let membership: ControllerGroupMembership = {
    leader: 1,
    voters: [1, 2, 3],
    learners: [4],
    caughtUp: [1, 2, 3, 4],
    changePending: false,
  };
  const steps: string[] = [];
  for (let round = 0; round < 10; round++) {
    const step = nextControllerVoterStep({ membership, brokers, leaving: new Set([1]) });
    if (step.kind === 'none') break;
    steps.push(`${step.kind} ${'brokerId' in step ? step.brokerId : ''}`);
    membership = carryOut(membership, step);
  }
  t.deepEqual(steps, ['promote 4', 'transfer-leader 2', 'demote 1']);
  t.deepEqual(membership.voters, [2, 3, 4]);
  t.deepEqual(membership.learners, [1]);
});

test('a learner that is behind is waited for; a pending change is waited for; nothing without a leaver', (t) => {
  const brokers = [broker(1, { leaving: true }), broker(2), broker(3), broker(4)];
  const membership: ControllerGroupMembership = {
    leader: 2,
    voters: [1, 2, 3],
    learners: [4],
    caughtUp: [1, 2, 3],
    changePending: false,
  };
  t.deepEqual(nextControllerVoterStep({ membership, brokers, leaving: new Set([1]) }), {
    kind: 'wait',
    reason: 'broker 4 is catching up',
  });
  t.is(
    nextControllerVoterStep({
      membership: { ...membership, changePending: true },
      brokers,
      leaving: new Set([1]),
    }).kind,
    'wait',
  );
  t.deepEqual(nextControllerVoterStep({ membership, brokers, leaving: new Set() }), { kind: 'none' });
  // A live broker outside the group altogether is added as a learner first.
  t.deepEqual(
    nextControllerVoterStep({
      membership: { ...membership, learners: [] },
      brokers,
      leaving: new Set([1]),
    }),
    { kind: 'add-learner', brokerId: 4 },
  );
});

test('no live broker outside the voters: the role cannot move, and decommissioning a voter is refused', (t) => {
  const three = [broker(1), broker(2), broker(3)];
  t.regex(
    controllerVoterProblem({ voters: [1, 2, 3], brokers: three, brokerId: 1 }) ?? '',
    /no other live broker can take its place/,
  );
  // A fenced fourth broker cannot take it either; a live one can; a non-voter never needs one.
  t.not(
    controllerVoterProblem({
      voters: [1, 2, 3],
      brokers: [...three, broker(4, { fenced: true })],
      brokerId: 1,
    }),
    null,
  );
  t.is(controllerVoterProblem({ voters: [1, 2, 3], brokers: [...three, broker(4)], brokerId: 1 }), null);
  t.is(controllerVoterProblem({ voters: [1, 2, 3], brokers: [...three, broker(4)], brokerId: 4 }), null);
  // Two voters leaving with one broker to take over: the second is refused.
  t.not(
    controllerVoterProblem({
      voters: [1, 2, 3],
      brokers: [broker(1, { leaving: true }), broker(2), broker(3), broker(4)],
      brokerId: 2,
    }),
    null,
  );
  t.deepEqual(
    nextControllerVoterStep({
      membership: { leader: 2, voters: [1, 2, 3], learners: [], caughtUp: [1, 2, 3], changePending: false },
      brokers: three,
      leaving: new Set([1]),
    }),
    { kind: 'wait', reason: 'no live broker can take the controller voter role of broker 1' },
  );
});

test('a dead voter (fenced past replica_replace_after) is replaced by a live learner, never by a fenced one', (t) => {
  const brokers = [broker(1), broker(2), broker(3, { fenced: true }), broker(4, { fenced: true }), broker(5)];
  let membership: ControllerGroupMembership = {
    leader: 1,
    voters: [1, 2, 3],
    learners: [4, 5],
    caughtUp: [1, 2, 4, 5],
    changePending: false,
  };
  const first = nextControllerVoterStep({ membership, brokers, leaving: new Set([3]) });
  t.deepEqual(first, { kind: 'promote', brokerId: 5 });
  membership = carryOut(membership, first);
  t.deepEqual(nextControllerVoterStep({ membership, brokers, leaving: new Set([3]) }), {
    kind: 'demote',
    brokerId: 3,
  });
});

/** Runs the planner with `target` until it rests, carrying each step out; the steps taken. */
function grow(
  start: ControllerGroupMembership,
  brokers: ReturnType<typeof broker>[],
  target: number,
): {
  steps: string[];
  membership: ControllerGroupMembership;
  rest: ReturnType<typeof nextControllerVoterStep>;
} {
  let membership = start;
  const steps: string[] = [];
  for (let round = 0; round < 20; round++) {
    const step = nextControllerVoterStep({ membership, brokers, leaving: new Set(), target });
    if (step.kind === 'none' || step.kind === 'wait') return { steps, membership, rest: step };
    steps.push(`${step.kind} ${'brokerId' in step ? step.brokerId : ''}`);
    membership = carryOut(membership, step);
    membership = { ...membership, caughtUp: [...new Set([...membership.caughtUp, ...membership.learners])] };
  }
  throw new Error('the planner never rests');
}

test('the voter goal: the target, never above the live brokers rounded down to odd', (t) => {
  t.deepEqual(
    [1, 2, 3, 4, 5, 6].map((liveBrokers) => controllerVoterGoal({ target: 3, liveBrokers })),
    [1, 1, 3, 3, 3, 3],
  );
  t.deepEqual(
    [1, 2, 3, 4, 5, 6].map((liveBrokers) => controllerVoterGoal({ target: 5, liveBrokers })),
    [1, 1, 3, 3, 5, 5],
  );
  t.is(controllerVoterGoal({ target: 1, liveBrokers: 5 }), 1);
  t.throws(() => controllerVoterGoal({ target: 2, liveBrokers: 5 }));
});

test('a one-voter group joined by two brokers grows to three voters, one promotion at a time, without stopping at two', (t) => {
  const brokers = [broker(1), broker(2), broker(3)];
  const start: ControllerGroupMembership = {
    leader: 1,
    voters: [1],
    learners: [2, 3],
    caughtUp: [1, 2, 3],
    changePending: false,
  };
  const grown = grow(start, brokers, 3);
  t.deepEqual(grown.steps, ['promote 2', 'promote 3']);
  t.deepEqual(grown.membership.voters, [1, 2, 3]);
  t.deepEqual(grown.rest, { kind: 'none' });
  // Target 1 keeps one voter; target 5 with three brokers stops at three.
  t.deepEqual(grow(start, brokers, 1).steps, []);
  t.deepEqual(grow(start, brokers, 5).membership.voters, [1, 2, 3]);
  // Five brokers, target 5: 1 → 2 → 3 → 4 → 5.
  const five = grow(
    { ...start, learners: [2, 3, 4, 5], caughtUp: [1, 2, 3, 4, 5] },
    [...brokers, broker(4), broker(5)],
    5,
  );
  t.deepEqual(five.steps, ['promote 2', 'promote 3', 'promote 4', 'promote 5']);
});

test('growth never starts toward an even count: one caught-up learner is not enough to leave one voter', (t) => {
  const brokers = [broker(1), broker(2), broker(3)];
  const membership: ControllerGroupMembership = {
    leader: 1,
    voters: [1],
    learners: [2, 3],
    caughtUp: [1, 2],
    changePending: false,
  };
  t.deepEqual(nextControllerVoterStep({ membership, brokers, leaving: new Set(), target: 3 }), {
    kind: 'wait',
    reason: 'growing to 3 controller voters: broker 3 is catching up',
  });
  // Two brokers alive: the goal is one voter, nothing to do.
  t.deepEqual(
    nextControllerVoterStep({
      membership,
      brokers: [broker(1), broker(2), broker(3, { fenced: true })],
      leaving: new Set(),
      target: 3,
    }),
    { kind: 'none' },
  );
  // Already at two (a growth under way): the next caught-up learner is promoted at once.
  t.deepEqual(
    nextControllerVoterStep({
      membership: { ...membership, voters: [1, 2], learners: [3], caughtUp: [1, 2, 3] },
      brokers,
      leaving: new Set(),
      target: 3,
    }),
    { kind: 'promote', brokerId: 3 },
  );
  // A pending change is waited for; a live broker outside the group is added as a learner.
  t.is(
    nextControllerVoterStep({
      membership: { ...membership, caughtUp: [1, 2, 3], changePending: true },
      brokers,
      leaving: new Set(),
      target: 3,
    }).kind,
    'wait',
  );
  t.deepEqual(
    nextControllerVoterStep({
      membership: { ...membership, learners: [2], caughtUp: [1, 2] },
      brokers,
      leaving: new Set(),
      target: 3,
    }),
    { kind: 'add-learner', brokerId: 3 },
  );
});

test('growth promotes no fenced, decommissioning or leaving broker, and never demotes a voter above the target', (t) => {
  const membership: ControllerGroupMembership = {
    leader: 1,
    voters: [1],
    learners: [2, 3, 4],
    caughtUp: [1, 2, 3, 4],
    changePending: false,
  };
  const brokers = [broker(1), broker(2, { fenced: true }), broker(3, { leaving: true }), broker(4)];
  // Live: 1 and 4 → the goal is one voter.
  t.deepEqual(nextControllerVoterStep({ membership, brokers, leaving: new Set(), target: 3 }), {
    kind: 'none',
  });
  // Five voters with target 3 and nobody leaving: nothing is demoted.
  t.deepEqual(
    nextControllerVoterStep({
      membership: { ...membership, voters: [1, 2, 3, 4, 5], learners: [] },
      brokers: [broker(1), broker(2), broker(3), broker(4), broker(5)],
      leaving: new Set(),
      target: 3,
    }),
    { kind: 'none' },
  );
});
