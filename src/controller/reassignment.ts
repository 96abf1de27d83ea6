/**
 * Moving partition replicas (the controller leader's self-healing and decommission tasks): which
 * moves to start, where the new replicas go, and the next step of each move in progress. Pure and
 * deterministic: the broker (src/broker/controller-tasks.ts) feeds it the applied metadata and
 * what each partition's leader reports of its Raft membership, and carries out the step.
 *
 * A move takes a partition from its replicas to `targetReplicas` (recorded by a
 * `partition-reassignment` record, so a new controller leader carries on) one membership change
 * at a time (docs/raft.md, Membership):
 *
 *   1. metadata: the new broker becomes a learner (`partition-replicas`), so its reconciler opens
 *      an empty replica from committed metadata (DESIGN decision 8);
 *   2. Raft: the partition leader adds it as a learner; it catches up (a snapshot, then the log);
 *   3. Raft: once caught up it is promoted to voter; metadata records the promotion;
 *   4. Raft: each replica not in the target is removed (the leader hands over first if it is the
 *      one leaving); metadata records the removal — only then does the removed broker delete its
 *      replica (DESIGN §6), so metadata never drops a replica Raft still counts.
 *
 * Additions come before removals, so a partition never has fewer voters than its replication
 * factor during a move. Metadata leads Raft only when adding (a broker opens a replica before it
 * is sent one); Raft leads metadata when promoting and removing (the record follows the committed
 * change), so whatever order a controller failover interrupts, the next leader's step repairs it.
 */
import { assert } from '../lib/assert.js';
import type { BrokerInfo, PartitionInfo } from './state.js';

/** A partition's Raft membership as its leader reports it: committed changes only. */
export interface ObservedMembership {
  /** The reporting leader's broker id. */
  leader: number;
  voters: readonly number[];
  learners: readonly number[];
  /** Members the leader streams the log to with at most a small lag (may be promoted). */
  caughtUp: readonly number[];
  /** A membership change is appended but not committed: wait for it. */
  changePending: boolean;
}

/** What the broker does next for one move. */
export type MoveStep =
  /** Nothing to do now (`reason` is shown as the move's progress). */
  | { kind: 'wait'; reason: string }
  /** Propose `partition-replicas` with these voters and learners. */
  | { kind: 'record'; replicas: number[]; learners: number[] }
  /** Ask the partition leader to propose this Raft membership change. */
  | { kind: 'add-learner' | 'promote' | 'remove'; brokerId: number }
  /** Ask the partition leader to hand leadership to `brokerId` (it is leaving). */
  | { kind: 'transfer-leader'; brokerId: number };

/**
 * The next step of the move of `partition` to its `targetReplicas`, given its leader's report
 * (undefined while no leader answers). Raft-ahead differences are recorded first, then
 * metadata-ahead ones are carried into Raft, then the move goes on: add, catch up, promote,
 * remove.
 */
export function nextMoveStep(partition: PartitionInfo, observed: ObservedMembership | undefined): MoveStep {
  const target = partition.targetReplicas;
  assert(target.length > 0, 'the partition has a move in progress');
  if (observed === undefined) return { kind: 'wait', reason: 'no partition leader answered' };
  if (observed.changePending) return { kind: 'wait', reason: 'a membership change is committing' };
  const { replicas, learners } = partition;
  const voters = observed.voters;
  const raftLearners = observed.learners;

  // 1. Raft is ahead of metadata (a promotion or a removal committed): record it.
  if (!sameMembers(voters, replicas)) {
    const ordered = orderLike(voters, [...target, ...replicas]);
    const keptLearners = learners.filter((id) => !voters.includes(id) && raftLearners.includes(id));
    // A metadata learner Raft has not added yet stays (step 2 below adds it).
    const notYetAdded = learners.filter((id) => !voters.includes(id) && !raftLearners.includes(id));
    return { kind: 'record', replicas: ordered, learners: [...keptLearners, ...notYetAdded] };
  }
  // 2. Learners: metadata's are added to Raft; Raft's that metadata or the target no longer
  //    wants are removed; a wanted one is promoted once caught up.
  for (const id of learners) {
    if (raftLearners.includes(id)) continue;
    if (target.includes(id)) return { kind: 'add-learner', brokerId: id };
    return { kind: 'record', replicas: [...replicas], learners: learners.filter((other) => other !== id) };
  }
  for (const id of raftLearners) {
    if (!learners.includes(id) || !target.includes(id)) return { kind: 'remove', brokerId: id };
    if (observed.caughtUp.includes(id)) return { kind: 'promote', brokerId: id };
    return { kind: 'wait', reason: `broker ${id} is catching up` };
  }
  // 3. Add the next target broker (one at a time) as a learner in metadata.
  const missing = target.find((id) => !replicas.includes(id));
  if (missing !== undefined) return { kind: 'record', replicas: [...replicas], learners: [missing] };
  // 4. Remove the replicas the target leaves out, the leader last and after handing over. One
  //    that is behind (dead, cut off) goes first, always: it takes nothing streaming away. A
  //    caught-up one goes only while the voters it leaves keep a caught-up majority: removing a
  //    live voter beside a dead one ([1,2,3] to [1] with 3 down) would leave [1,3], which
  //    commits nothing, not even the next removal.
  const leaving = replicas.filter((id) => !target.includes(id));
  const followers = leaving.filter((id) => id !== observed.leader);
  const streaming = [observed.leader, ...observed.caughtUp];
  const leavingFollower =
    followers.find((id) => !streaming.includes(id)) ??
    followers.find((id) => keepsCaughtUpMajority(voters, id, streaming));
  if (leavingFollower !== undefined) return { kind: 'remove', brokerId: leavingFollower };
  if (followers.length > 0)
    return {
      kind: 'wait',
      reason: `removing broker ${followers[0]} would leave no caught-up majority of voters`,
    };
  if (leaving.length > 0) {
    const successor = target.find((id) => observed.caughtUp.includes(id));
    if (successor === undefined)
      return { kind: 'wait', reason: 'no caught-up replica to hand leadership to' };
    return { kind: 'transfer-leader', brokerId: successor };
  }
  // 5. Reached: record the target's order (this also clears the target).
  return { kind: 'record', replicas: [...target], learners: [] };
}

export interface MovePlanInput {
  brokers: readonly BrokerInfo[];
  /** Every partition of every topic (the applied metadata). */
  partitions: readonly PartitionInfo[];
  /** Brokers whose replicas must move: fenced for longer than `replica_replace_after`, and the
   * decommissioning ones. */
  evacuate: ReadonlySet<number>;
  /** Moves (partitions with a target) allowed at once, cluster-wide. */
  maxMovesInFlight: number;
  /** Bytes of each partition (by group id) where known; a tie-breaker for placement. */
  partitionBytes?: ReadonlyMap<number, number>;
}

export interface PlannedMove {
  groupId: number;
  target: number[];
}

/** Why a partition that should move cannot (shown by `goqueue cluster`). */
export interface BlockedMove {
  groupId: number;
  reason: string;
}

/**
 * Moves to start (or re-target) so that no replica stays on an evacuated broker: each such
 * replica is replaced, in place in the preference order, by a live broker not decommissioning,
 * chosen by rack (a rack the partition does not use yet, when every broker names one), then
 * fewest replicas (counting targets of moves in flight and planned here), then fewest bytes,
 * then a rotation by group id. A partition whose live voters are no majority cannot change its
 * membership and is left blocked; so is one with too few brokers to place on.
 */
export function planMoves(input: MovePlanInput): { moves: PlannedMove[]; blocked: BlockedMove[] } {
  assert(Number.isInteger(input.maxMovesInFlight) && input.maxMovesInFlight >= 0, 'a move bound');
  const live = input.brokers.filter(
    (broker) => !broker.fenced && !broker.decommissioning && !input.evacuate.has(broker.brokerId),
  );
  const alive = new Set(input.brokers.filter((broker) => !broker.fenced).map((broker) => broker.brokerId));
  const rackOf = new Map(input.brokers.map((broker) => [broker.brokerId, broker.rack]));
  const rackAware = live.length > 0 && live.every((broker) => broker.rack !== null);
  const replicaCount = new Map<number, number>(live.map((broker) => [broker.brokerId, 0]));
  const byteCount = new Map<number, number>(live.map((broker) => [broker.brokerId, 0]));
  const membersOf = (partition: PartitionInfo): number[] =>
    partition.targetReplicas.length > 0
      ? partition.targetReplicas
      : [...partition.replicas, ...partition.learners];
  for (const partition of input.partitions)
    for (const id of membersOf(partition)) {
      if (!replicaCount.has(id)) continue;
      replicaCount.set(id, replicaCount.get(id)! + 1);
      byteCount.set(id, byteCount.get(id)! + (input.partitionBytes?.get(partition.groupId) ?? 0));
    }

  let inFlight = input.partitions.filter((partition) => partition.targetReplicas.length > 0).length;
  const moves: PlannedMove[] = [];
  const blocked: BlockedMove[] = [];
  for (const partition of input.partitions) {
    const moving = partition.targetReplicas.length > 0;
    const current = membersOf(partition);
    if (!current.some((id) => input.evacuate.has(id))) continue;
    const liveVoters = partition.replicas.filter((id) => alive.has(id)).length;
    if (liveVoters * 2 <= partition.replicas.length) {
      blocked.push({ groupId: partition.groupId, reason: 'a majority of its replicas is down' });
      continue;
    }
    // A new move needs a free slot; re-targeting one in flight does not.
    if (!moving && inFlight >= input.maxMovesInFlight) continue;
    const target = [...current].filter((id, index, list) => list.indexOf(id) === index);
    let placed = true;
    for (const [position, id] of target.entries()) {
      if (!input.evacuate.has(id)) continue;
      const racksUsed = new Set(
        target.filter((other) => !input.evacuate.has(other)).map((o) => rackOf.get(o)),
      );
      const bytes = input.partitionBytes?.get(partition.groupId) ?? 0;
      const candidates = live.filter((broker) => !target.includes(broker.brokerId));
      if (candidates.length === 0) {
        placed = false;
        break;
      }
      const rotation = partition.groupId % candidates.length;
      const keyOf = (broker: BrokerInfo, index: number): number[] => [
        rackAware && racksUsed.has(broker.rack) ? 1 : 0,
        replicaCount.get(broker.brokerId)!,
        byteCount.get(broker.brokerId)!,
        (index - rotation + candidates.length) % candidates.length,
      ];
      let best = 0;
      for (let index = 1; index < candidates.length; index++)
        if (compareKeys(keyOf(candidates[index]!, index), keyOf(candidates[best]!, best)) < 0) best = index;
      const chosen = candidates[best]!.brokerId;
      target[position] = chosen;
      replicaCount.set(chosen, replicaCount.get(chosen)! + 1);
      byteCount.set(chosen, byteCount.get(chosen)! + bytes);
    }
    if (!placed) {
      blocked.push({ groupId: partition.groupId, reason: 'too few live brokers to place its replicas on' });
      continue;
    }
    moves.push({ groupId: partition.groupId, target });
    if (!moving) inFlight++;
  }
  return { moves, blocked };
}

/** Whether the brokers other than `brokerId` (live, not leaving) can hold every partition's
 * replication factor: what decommissioning it needs. */
export function decommissionProblem(
  brokers: readonly BrokerInfo[],
  partitions: readonly PartitionInfo[],
  brokerId: number,
): string | null {
  const remaining = brokers.filter(
    (broker) => broker.brokerId !== brokerId && !broker.fenced && !broker.decommissioning,
  ).length;
  let largest = 0;
  for (const partition of partitions)
    if (partition.replicas.includes(brokerId) || partition.learners.includes(brokerId))
      largest = Math.max(largest, partition.replicas.length);
  if (largest > remaining)
    return `a partition on broker ${brokerId} has ${largest} replicas; only ${remaining} other live brokers would remain`;
  return null;
}

/** `ids` ordered as they appear in `order` (ids not in it last, by id). */
function orderLike(ids: readonly number[], order: readonly number[]): number[] {
  const rank = (id: number): number => {
    const index = order.indexOf(id);
    return index < 0 ? order.length + id : index;
  };
  return [...ids].sort((a, b) => rank(a) - rank(b));
}

/** Whether the voters left once `removed` goes hold a majority streaming the log. */
function keepsCaughtUpMajority(
  voters: readonly number[],
  removed: number,
  caughtUp: readonly number[],
): boolean {
  const rest = voters.filter((id) => id !== removed);
  return rest.filter((id) => caughtUp.includes(id)).length * 2 > rest.length;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let index = 0; index < a.length; index++) {
    const difference = a[index]! - b[index]!;
    if (difference !== 0) return difference;
  }
  return 0;
}
