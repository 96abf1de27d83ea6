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
 * one voter, which is the rule single-server changes need (docs/raft.md). Pure: the controller
 * leader (src/broker/controller-tasks.ts) feeds it the group's committed membership and carries
 * the step out; a new leader re-derives the next step from the membership, so a failover at any
 * point carries on.
 */
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

/**
 * The next step that moves the voter role off `leaving` brokers. `brokers` is the placement view:
 * a fenced (or unreachable) or decommissioning broker never takes the role.
 */
export function nextControllerVoterStep(input: {
  membership: ControllerGroupMembership;
  brokers: readonly BrokerInfo[];
  leaving: ReadonlySet<number>;
}): ControllerVoterStep {
  const { membership, leaving } = input;
  const leavingVoters = membership.voters.filter((id) => leaving.has(id)).sort((a, b) => a - b);
  if (leavingVoters.length === 0) return { kind: 'none' };
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
