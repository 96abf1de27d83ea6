/**
 * Partition reassignment asked for through the Kafka API (KIP-455: AlterPartitionReassignments,
 * ListPartitionReassignments): what a request turns into, how a move in progress is shown, and
 * which moves run at once. Pure: the controller leader (src/broker/controller-reassignments.ts)
 * checks a request against its applied metadata here, proposes the `partition-reassignment`
 * record it gets back, and the self-healing tasks carry the move out one membership change at a
 * time (src/controller/reassignment.ts, `nextMoveStep`), exactly as they carry out evacuations.
 */
import { assert } from '../lib/assert.js';
import { MAX_REPLICAS } from './records.js';
import type { ControllerState, PartitionInfo } from './state.js';

export interface ReassignmentRequest {
  topic: string;
  partition: number;
  /** The target replicas, first = preferred leader; null cancels the move in progress. */
  replicas: number[] | null;
}

export type ReassignmentRefusal =
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'INVALID_REPLICA_ASSIGNMENT'
  | 'NO_REASSIGNMENT_IN_PROGRESS';

export type ReassignmentDecision =
  /** Propose `partition-reassignment { groupId, target }`. */
  | { kind: 'record'; groupId: number; target: number[] }
  | { kind: 'refused'; errorName: ReassignmentRefusal; message: string };

/**
 * What `request` asks of the partition, checked against the applied metadata. A target must
 * name registered brokers, none twice; a fenced or decommissioning broker is refused too (a
 * replica there would never catch up, or would be moved off again at once). A target with the
 * partition's own members (no learners) is recorded as well: the state then only takes its
 * order, so its first broker becomes the preferred leader.
 */
export function decideReassignment(
  state: ControllerState,
  request: ReassignmentRequest,
): ReassignmentDecision {
  const topic = state.topicByName(request.topic);
  const partition = topic?.partitions[request.partition];
  if (topic === undefined || partition === undefined)
    return refuse('UNKNOWN_TOPIC_OR_PARTITION', `no partition ${request.topic}-${request.partition}`);
  if (request.replicas === null) {
    if (partition.targetReplicas.length === 0)
      return refuse(
        'NO_REASSIGNMENT_IN_PROGRESS',
        `${request.topic}-${request.partition} has no reassignment in progress`,
      );
    return { kind: 'record', groupId: partition.groupId, target: cancelTarget(partition) };
  }
  const target = request.replicas;
  if (target.length === 0) return refuse('INVALID_REPLICA_ASSIGNMENT', 'the replica list is empty');
  if (target.length > MAX_REPLICAS)
    return refuse('INVALID_REPLICA_ASSIGNMENT', `${target.length} replicas is more than ${MAX_REPLICAS}`);
  const twice = target.find((id, index) => target.indexOf(id) !== index);
  if (twice !== undefined)
    return refuse('INVALID_REPLICA_ASSIGNMENT', `the replica list names broker ${twice} more than once`);
  for (const id of target) {
    const broker = state.broker(id);
    if (broker === undefined)
      return refuse('INVALID_REPLICA_ASSIGNMENT', `broker ${id} is not registered in the cluster`);
    if (broker.fenced)
      return refuse('INVALID_REPLICA_ASSIGNMENT', `broker ${id} is fenced (not heartbeating)`);
    if (broker.decommissioning)
      return refuse('INVALID_REPLICA_ASSIGNMENT', `broker ${id} is being decommissioned`);
  }
  return { kind: 'record', groupId: partition.groupId, target: [...target] };
}

/**
 * Where a cancelled move stops: the partition's voters as recorded now, its preferred leader
 * first. Learners added for the move are not in it, so the move's next steps remove them; a
 * broker already promoted stays a voter (no voter is removed by a cancel unless Raft is ahead of
 * metadata). Every step from here is one the move could have taken anyway.
 */
export function cancelTarget(partition: PartitionInfo): number[] {
  assert(partition.replicas.includes(partition.preferredLeader), 'the preferred leader is a voter');
  return [partition.preferredLeader, ...partition.replicas.filter((id) => id !== partition.preferredLeader)];
}

/** A move in progress as ListPartitionReassignments shows it (KIP-455). */
export interface ReassignmentView {
  /** Every replica the partition has or is getting: the target, then those leaving. */
  replicas: number[];
  /** Target brokers that are not voters yet (learners catching up, or still to be added). */
  addingReplicas: number[];
  /** Members the target leaves out (voters and learners still to be removed). */
  removingReplicas: number[];
}

export function reassignmentView(partition: PartitionInfo): ReassignmentView {
  const target = partition.targetReplicas;
  assert(target.length > 0, 'the partition has a move in progress');
  const removingReplicas = [...partition.replicas, ...partition.learners].filter(
    (id) => !target.includes(id),
  );
  return {
    replicas: [...target, ...removingReplicas],
    addingReplicas: target.filter((id) => !partition.replicas.includes(id)),
    removingReplicas,
  };
}

/**
 * True once a move has changed the partition's membership: it has learners, or every target
 * broker is a voter and replicas are left to remove (the additions done; or a move that only
 * drops replicas, which copies nothing). More voters than the target alone is no sign: a move
 * from [1,2,3] to [4,5] has them before it starts, and counting it would let any number of such
 * moves copy at once past `maxMovesInFlight`. A move that is not under way sits at its starting
 * membership and may wait for a free slot.
 */
export function moveUnderWay(partition: PartitionInfo): boolean {
  const { replicas, learners, targetReplicas: target } = partition;
  if (learners.length > 0) return true;
  return replicas.length > target.length && target.every((id) => replicas.includes(id));
}

/**
 * The moves to carry on now: every move under way (never left half-done), then the others by
 * group id while fewer than `maxMovesInFlight` run. A request may set targets on any number of
 * partitions; this keeps the replication traffic they cause bounded like evacuations.
 */
export function movesToAdvance(
  partitions: readonly PartitionInfo[],
  maxMovesInFlight: number,
): PartitionInfo[] {
  assert(Number.isInteger(maxMovesInFlight) && maxMovesInFlight >= 0, 'a move bound');
  const moving = partitions.filter((partition) => partition.targetReplicas.length > 0);
  const underWay = moving.filter(moveUnderWay);
  const waiting = moving
    .filter((partition) => !moveUnderWay(partition))
    .sort((a, b) => a.groupId - b.groupId);
  return [...underWay, ...waiting.slice(0, Math.max(0, maxMovesInFlight - underWay.length))];
}

function refuse(errorName: ReassignmentRefusal, message: string): ReassignmentDecision {
  return { kind: 'refused', errorName, message };
}
