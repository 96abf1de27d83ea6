/**
 * Replica assignment for new partitions (the controller leader runs it before proposing a
 * create-topic or create-partitions record). Pure and deterministic: the same input gives the same
 * answer on any broker.
 *
 * For each partition, in order (loads are the input's plus what this call already placed):
 * 1. The preferred leader is the broker leading the fewest partitions, then holding the fewest
 *    replicas, so leaders spread evenly — among brokers at most one replica above the least
 *    loaded one: replicas are costly to move and leadership is not (a preferred-leader change
 *    moves it), so a broker already heavy with replicas is not handed one more to lead.
 * 2. Each further replica goes, in order of preference, to a broker on a rack this partition uses
 *    least (no two replicas of a partition share a rack while an unused rack remains), holding the
 *    fewest replicas, on the rack holding the fewest replicas, leading the most partitions. The
 *    last key matters: a broker that has led less will take a leader replica later, so giving
 *    follower replicas to those that already lead keeps replica counts even. Without it, 7
 *    brokers given 7 partitions at RF 4 ended two replicas apart; with it (and the rack load), a
 *    sweep of 1-9 brokers, RF up to the broker count and 0-50 partitions, and one of 2-4 equal
 *    racks, all end within one replica and one leader of each other.
 *    Racks count only when every broker names one (like Kafka, a partly racked cluster is
 *    treated as rack-less rather than guessing where the others stand).
 * 3. Ties go to the broker next in a rotation of the broker ids that starts at `seed` and moves
 *    one step per partition (for the leader) or starts after the leader (for followers), so
 *    equal loads still stripe instead of piling onto the lowest id.
 */
import { assert } from '../lib/assert.js';
import type { KafkaErrorName } from './state.js';

export interface AssignmentBroker {
  brokerId: number;
  rack: string | null;
  /** Replicas (any position) the broker already holds. */
  replicaCount: number;
  /** Partitions whose preferred leader the broker already is. */
  leaderCount: number;
}

export interface AssignmentInput {
  /** Live, unfenced brokers. */
  brokers: AssignmentBroker[];
  partitionCount: number;
  replicationFactor: number;
  /** Chosen by the caller (e.g. the next group id), it rotates ties between calls. */
  seed: number;
}

/** The request cannot be assigned; `errorName` is the Kafka error to answer with. */
export class AssignmentError extends Error {
  override name = 'AssignmentError';
  constructor(
    readonly errorName: Extract<KafkaErrorName, 'INVALID_REPLICATION_FACTOR' | 'INVALID_PARTITIONS'>,
    message?: string,
  ) {
    super(message ?? errorName);
  }
}

/** Per partition, its replicas in preference order (first = preferred leader). */
export function assignReplicas(input: AssignmentInput): number[][] {
  const { partitionCount, replicationFactor, seed } = input;
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 0) {
    throw new AssignmentError('INVALID_PARTITIONS', `cannot assign ${partitionCount} partitions`);
  }
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new AssignmentError(
      'INVALID_REPLICATION_FACTOR',
      `replication factor must be at least 1; got ${replicationFactor}`,
    );
  }
  if (replicationFactor > input.brokers.length) {
    throw new AssignmentError(
      'INVALID_REPLICATION_FACTOR',
      `replication factor ${replicationFactor} is larger than the ${input.brokers.length} live brokers`,
    );
  }
  assert(Number.isSafeInteger(seed), 'the seed is a safe integer');
  const brokers = [...input.brokers].sort((a, b) => a.brokerId - b.brokerId);
  const count = brokers.length;
  for (const [index, broker] of brokers.entries()) {
    assert(index === 0 || brokers[index - 1]!.brokerId !== broker.brokerId, 'broker ids are distinct');
    assert(Number.isSafeInteger(broker.replicaCount) && broker.replicaCount >= 0, 'replica count >= 0');
    assert(Number.isSafeInteger(broker.leaderCount) && broker.leaderCount >= 0, 'leader count >= 0');
  }
  const rackAware = brokers.every((broker) => broker.rack !== null);
  const replicaCounts = brokers.map((broker) => broker.replicaCount);
  const leaderCounts = brokers.map((broker) => broker.leaderCount);
  const rotation = modulo(seed, count);
  const rackReplicaCounts = new Map<string | null, number>();
  for (const [index, broker] of brokers.entries()) {
    rackReplicaCounts.set(broker.rack, (rackReplicaCounts.get(broker.rack) ?? 0) + replicaCounts[index]!);
  }

  const assignment: number[][] = [];
  for (let partition = 0; partition < partitionCount; partition++) {
    // Distance of broker `index` from where this partition's rotation starts.
    const start = (rotation + partition) % count;
    const fewestReplicas = replicaCounts.reduce((fewest, replicas) => Math.min(fewest, replicas));
    const leader = lowest(count, (index) => [
      Math.max(0, replicaCounts[index]! - fewestReplicas - 1),
      leaderCounts[index]!,
      replicaCounts[index]!,
      modulo(index - start, count),
    ]);
    const chosen = [leader];
    const chosenSet = new Set(chosen);
    const rackUse = new Map<string | null, number>([[brokers[leader]!.rack, 1]]);
    while (chosen.length < replicationFactor) {
      const follower = lowest(count, (index) => {
        if (chosenSet.has(index)) return null;
        const rackPenalty = rackAware ? (rackUse.get(brokers[index]!.rack) ?? 0) : 0;
        const rackLoad = rackAware ? (rackReplicaCounts.get(brokers[index]!.rack) ?? 0) : 0;
        return [
          rackPenalty,
          replicaCounts[index]!,
          rackLoad,
          -leaderCounts[index]!,
          modulo(index - leader, count),
        ];
      });
      chosen.push(follower);
      chosenSet.add(follower);
      const rack = brokers[follower]!.rack;
      rackUse.set(rack, (rackUse.get(rack) ?? 0) + 1);
    }
    for (const index of chosen) {
      replicaCounts[index] = replicaCounts[index]! + 1;
      const rack = brokers[index]!.rack;
      rackReplicaCounts.set(rack, (rackReplicaCounts.get(rack) ?? 0) + 1);
    }
    leaderCounts[leader] = leaderCounts[leader]! + 1;
    assignment.push(chosen.map((index) => brokers[index]!.brokerId));
  }
  return assignment;
}

/** The index in [0, count) whose key is lowest (keys compared in order); null keys are skipped. */
function lowest(count: number, key: (index: number) => readonly number[] | null): number {
  let best = -1;
  let bestKey: readonly number[] | null = null;
  for (let index = 0; index < count; index++) {
    const candidate = key(index);
    if (candidate === null) continue;
    if (bestKey === null || compareKeys(candidate, bestKey) < 0) {
      best = index;
      bestKey = candidate;
    }
  }
  assert(best >= 0, 'a candidate broker remains');
  return best;
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const difference = a[i]! - b[i]!;
    if (difference !== 0) return difference;
  }
  return 0;
}

function modulo(value: number, divisor: number): number {
  return ((value % divisor) + divisor) % divisor;
}
