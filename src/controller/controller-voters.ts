/**
 * Moving the controller voter role (DESIGN decision 7: the controller group's voters are the first
 * 1, 3 or 5 brokers; every other broker follows it as a learner). When a voter is leaving — it is
 * being decommissioned, or it has been fenced longer than `replica_replace_after` — a live learner
 * takes its place, one membership change of the controller group at a time:
 *
 *   1. a live learner that streams the log is promoted to voter (the group briefly has one voter
 *      more, e.g. four);
 *   2. if the leaving voter leads the group, it hands leadership to a caught-up staying voter;
 *   3. the leaving voter is demoted to learner (it keeps applying metadata while it runs, and a
 *      dead one that returns follows as any learner does).
 *
 * The group never has fewer voters than it had (promotion first), and each step adds or removes
 * one voter, which is the rule single-server changes need (docs/raft.md).
 *
 * Growing: a cluster started smaller than its voter target (`controller_voters`, 3 by default)
 * promotes caught-up live learners as brokers join, until it has min(target, live brokers rounded
 * down to odd) voters. Single-server changes pass through an even count (1 → 2 → 3); a growth
 * starts only when enough caught-up learners exist to reach the next odd count, and goes on
 * without stopping at the even one. Voters are never demoted to shrink toward the target: only a
 * leaving voter loses its role. Pure: the controller
 * leader (src/broker/controller-tasks.ts) feeds it the group's committed membership and carries
 * the step out; a new leader re-derives the next step from the membership, so a failover at any
 * point carries on.
 */
import { assert } from '../lib/assert.js';
import type { BrokerInfo } from './state.js';

/** The controller group's membership as its leader sees it (committed changes only). */
export interface ControllerGroupMembership {
  leader: number;
  voters: readonly number[];
  learners: readonly number[];
  /** Members streaming the log within a small lag (the leader included). */
  caughtUp: readonly number[];
  /** A membership change is appended but not committed: wait for it. */
  changePending: boolean;
}

export type ControllerVoterStep =
  | { kind: 'none' }
  | { kind: 'wait'; reason: string }
  /** Propose AddLearner of a live broker the group does not hold yet. */
  | { kind: 'add-learner'; brokerId: number }
  /** Propose AddVoter of a caught-up learner. */
  | { kind: 'promote'; brokerId: number }
  /** Ask the group to hand leadership to this staying voter (the leader is leaving). */
  | { kind: 'transfer-leader'; brokerId: number }
  /** Propose AddLearner of a leaving voter (demotes it). */
  | { kind: 'demote'; brokerId: number };

/** How many voters a group of `voters` aims for: the largest odd count not above it and 5. */
export function controllerVoterTarget(voters: number): number {
  const capped = Math.min(voters, 5);
  return capped % 2 === 1 ? capped : Math.max(1, capped - 1);
}

/** The voter counts `controller_voters` may name (DESIGN decision 7). */
export const CONTROLLER_VOTER_TARGETS: readonly number[] = [1, 3, 5];

/**
 * How many voters the group grows to: the configured target, but never more than the live brokers
 * that could vote, rounded down to odd (an even count tolerates no more failures than the odd
 * count below it and needs one more broker for every commit).
 */
export function controllerVoterGoal(input: { target: number; liveBrokers: number }): number {
  assert(CONTROLLER_VOTER_TARGETS.includes(input.target), 'controller_voters is 1, 3 or 5');
  const live = Math.max(1, input.liveBrokers);
  return Math.min(input.target, live % 2 === 1 ? live : live - 1);
}

/**
 * The next step that moves the voter role off `leaving` brokers, or, with none leaving, grows the
 * group toward `target` voters (`controller_voters`; without it the group only replaces leavers).
 * `brokers` is the placement view: a fenced (or unreachable) or decommissioning broker never takes
 * the role.
 */
export function nextControllerVoterStep(input: {
  membership: ControllerGroupMembership;
  brokers: readonly BrokerInfo[];
  leaving: ReadonlySet<number>;
  target?: number;
}): ControllerVoterStep {
  const { membership, leaving } = input;
  const leavingVoters = membership.voters.filter((id) => leaving.has(id)).sort((a, b) => a - b);
  if (leavingVoters.length === 0)
    return input.target === undefined ? { kind: 'none' } : growthStep({ ...input, target: input.target });
  if (membership.changePending)
    return { kind: 'wait', reason: 'a controller membership change is committing' };
  const staying = membership.voters.filter((id) => !leaving.has(id));
  const target = controllerVoterTarget(membership.voters.length);
  // Above the target (a promotion made room), a leaving voter other than the leader is demoted
  // first, a fenced one before a live one, even when no broker can take the role of another
  // leaver: four voters with one dead tolerate no further loss (and stopping a decommissioned
  // voter then loses the quorum), three live ones tolerate one.
  if (membership.voters.length > target) {
    const fenced = (id: number) => input.brokers.some((broker) => broker.brokerId === id && broker.fenced);
    const demotable = leavingVoters.filter((id) => id !== membership.leader);
    const first = demotable.find(fenced) ?? demotable[0];
    if (first !== undefined) return { kind: 'demote', brokerId: first };
  }
  if (staying.length < target) {
    const candidates = input.brokers
      .filter(
        (broker) =>
          !broker.fenced &&
          !broker.decommissioning &&
          !leaving.has(broker.brokerId) &&
          !membership.voters.includes(broker.brokerId),
      )
      .map((broker) => broker.brokerId);
    if (candidates.length === 0)
      return {
        kind: 'wait',
        reason: `no live broker can take the controller voter role of broker ${leavingVoters[0]}`,
      };
    // A caught-up learner first (lowest id: the design's "first brokers"), then any learner.
    const learners = candidates.filter((id) => membership.learners.includes(id));
    const ready = learners.find((id) => membership.caughtUp.includes(id));
    if (ready !== undefined) return { kind: 'promote', brokerId: ready };
    if (learners.length > 0) return { kind: 'wait', reason: `broker ${learners[0]} is catching up` };
    return { kind: 'add-learner', brokerId: candidates[0]! };
  }
  const follower = leavingVoters.find((id) => id !== membership.leader);
  if (follower !== undefined) return { kind: 'demote', brokerId: follower };
  const successor = staying.find((id) => membership.caughtUp.includes(id));
  if (successor === undefined)
    return { kind: 'wait', reason: 'no caught-up controller voter to hand leadership to' };
  return { kind: 'transfer-leader', brokerId: successor };
}

/**
 * The next promotion toward `controllerVoterGoal` when no voter is leaving. From an odd count, a
 * growth starts only when the caught-up live learners can carry it to the next odd count (two of
 * them): stopping at an even count would make every commit need one broker more without
 * tolerating one more failure. From an even count (a growth under way, or a voter lost since) the
 * next caught-up learner is promoted at once; one catching up is waited for.
 */
function growthStep(input: {
  membership: ControllerGroupMembership;
  brokers: readonly BrokerInfo[];
  leaving: ReadonlySet<number>;
  target: number;
}): ControllerVoterStep {
  const { membership } = input;
  const live = input.brokers.filter(
    (broker) => !broker.fenced && !broker.decommissioning && !input.leaving.has(broker.brokerId),
  );
  const goal = controllerVoterGoal({ target: input.target, liveBrokers: live.length });
  if (membership.voters.length >= goal) return { kind: 'none' };
  if (membership.changePending)
    return { kind: 'wait', reason: 'a controller membership change is committing' };
  const candidates = live
    .map((broker) => broker.brokerId)
    .filter((id) => !membership.voters.includes(id))
    .sort((a, b) => a - b);
  const learners = candidates.filter((id) => membership.learners.includes(id));
  const ready = learners.filter((id) => membership.caughtUp.includes(id));
  const needed = membership.voters.length % 2 === 1 ? 2 : 1;
  if (ready.length >= needed) return { kind: 'promote', brokerId: ready[0]! };
  const behind = learners.find((id) => !membership.caughtUp.includes(id));
  if (behind !== undefined)
    return { kind: 'wait', reason: `growing to ${goal} controller voters: broker ${behind} is catching up` };
  const outside = candidates.find((id) => !membership.learners.includes(id));
  if (outside !== undefined) return { kind: 'add-learner', brokerId: outside };
  return { kind: 'wait', reason: `growing to ${goal} controller voters waits for a live learner` };
}

/**
 * Why `brokerId` cannot leave now as far as the controller group goes (it is a voter and not
 * enough live brokers outside the voters could take its place), or null.
 */
export function controllerVoterProblem(input: {
  voters: readonly number[];
  brokers: readonly BrokerInfo[];
  brokerId: number;
}): string | null {
  if (!input.voters.includes(input.brokerId)) return null;
  const leaving = new Set(
    input.brokers.filter((broker) => broker.decommissioning).map((broker) => broker.brokerId),
  );
  leaving.add(input.brokerId);
  const staying = input.voters.filter((id) => !leaving.has(id)).length;
  const needed = controllerVoterTarget(input.voters.length) - staying;
  const available = input.brokers.filter(
    (broker) => !broker.fenced && !leaving.has(broker.brokerId) && !input.voters.includes(broker.brokerId),
  ).length;
  if (needed > available)
    return `broker ${input.brokerId} is a controller voter and no other live broker can take its place (voters ${input.voters.join(', ')})`;
  return null;
}
