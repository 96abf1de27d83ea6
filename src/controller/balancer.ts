/**
 * Balancing (DESIGN decision 7): replicas, so that a broker that joined (or came back empty)
 * takes its share of the partitions (`planReplicaBalance`), and leadership, so that no broker
 * leads more than its share (`planLeaderTransfers`).
 *
 * Leader balancing: when a live broker leads more than its share of the
 * partitions, leadership of the partitions it leads but does not prefer goes back to their
 * preferred leaders. Pure: the controller leader (src/broker/controller-tasks.ts) runs it on the
 * applied metadata every `leader_balance_interval`, and the partition leaders carry the transfers
 * out only to a preferred replica that holds the log (never to one that is behind).
 *
 * A broker's share is the partitions with a live preferred leader divided by the live brokers;
 * it is over its share when it leads more than `share × (1 + imbalancePercent / 100)`. Only
 * transfers to preferred leaders are made, and those are spread evenly by the assignment, so a
 * cluster whose partitions all follow their preferred leaders is never churned.
 */
import { assert } from '../lib/assert.js';
import type { BrokerInfo, PartitionInfo } from './state.js';

export interface LeaderTransfer {
  groupId: number;
  /** The current leader, which is asked to hand over. */
  from: number;
  /** The preferred leader. */
  to: number;
}

export interface LeaderBalanceInput {
  brokers: readonly BrokerInfo[];
  partitions: readonly PartitionInfo[];
  imbalancePercent: number;
  /** Brokers the caller cannot hand leadership to now (unreachable, restarting). */
  unavailable?: ReadonlySet<number>;
  /** At most this many transfers per round. */
  maxTransfers: number;
}

/** Leaders per live broker (partitions whose recorded leader it is). */
export function leaderCounts(
  brokers: readonly BrokerInfo[],
  partitions: readonly PartitionInfo[],
): Map<number, number> {
  const counts = new Map<number, number>();
  for (const broker of brokers) if (!broker.fenced) counts.set(broker.brokerId, 0);
  for (const partition of partitions) {
    const count = counts.get(partition.leader);
    if (count !== undefined) counts.set(partition.leader, count + 1);
  }
  return counts;
}

/** Transfers that bring over-loaded brokers back toward their share, by broker then group id. */
export function planLeaderTransfers(input: LeaderBalanceInput): LeaderTransfer[] {
  assert(input.imbalancePercent >= 0, 'the imbalance threshold is not negative');
  const unavailable = input.unavailable ?? new Set<number>();
  const available = (id: number): boolean =>
    input.brokers.some((broker) => broker.brokerId === id && !broker.fenced && !broker.decommissioning) &&
    !unavailable.has(id);
  const counts = leaderCounts(input.brokers, input.partitions);
  const liveBrokers = counts.size;
  if (liveBrokers === 0) return [];
  const balanceable = input.partitions.filter((partition) => available(partition.preferredLeader)).length;
  const share = balanceable / liveBrokers;
  const limit = share * (1 + input.imbalancePercent / 100);
  const transfers: LeaderTransfer[] = [];
  const sorted = [...input.partitions].sort((a, b) => a.groupId - b.groupId);
  for (const [brokerId, led] of [...counts].sort(([a], [b]) => a - b)) {
    let leading = led;
    if (leading <= limit) continue;
    for (const partition of sorted) {
      if (leading <= share || transfers.length >= input.maxTransfers) break;
      if (partition.leader !== brokerId || partition.preferredLeader === brokerId) continue;
      if (!available(partition.preferredLeader)) continue;
      transfers.push({ groupId: partition.groupId, from: brokerId, to: partition.preferredLeader });
      leading--;
    }
  }
  return transfers;
}

export interface ReplicaBalanceInput {
  /** Every registered broker; fenced (or unreachable, marked fenced by the caller) and
   * decommissioning ones take no replica. */
  brokers: readonly BrokerInfo[];
  /** Every partition of every topic (the applied metadata). */
  partitions: readonly PartitionInfo[];
  /** A broker is out of balance when it holds more than `share × (1 + p/100)` replicas or fewer
   * than `share × (1 − p/100)`, share = replicas ÷ brokers taking replicas. */
  imbalancePercent: number;
  /** Moves (partitions with a target) allowed at once, cluster-wide, these and others. */
  maxMovesInFlight: number;
  /** Bytes of each partition (by group id) where known: which replica moves evens bytes too. */
  partitionBytes?: ReadonlyMap<number, number>;
}

/**
 * Moves that even out replica counts, one replica each (the source is replaced in place in the
 * preference order by the destination, which then goes through the usual add, catch up,
 * promote, remove steps of src/controller/reassignment.ts). Planned only while every replica
 * sits on a broker taking replicas: a fenced or leaving broker's replicas are the evacuation's
 * business first.
 *
 * Each move takes a replica from the broker holding the most (ties: most bytes) to the one
 * holding the fewest (ties: fewest bytes), only when they differ by two or more and one of them
 * is outside the threshold, so every move lowers the sum of squared counts and balancing ends.
 * Among the source's partitions it picks one the destination does not hold, whose racks stay as
 * many (when every broker names a rack), no move in flight, no learner and not placed by an
 * operator (`placedByOperator`: its replicas count toward the load but never move); preferring a
 * replica the source does not lead, then the one whose bytes leave the two brokers' byte totals
 * closest, then the lowest group id. Deterministic.
 */
export function planReplicaBalance(input: ReplicaBalanceInput): Array<{ groupId: number; target: number[] }> {
  assert(input.imbalancePercent >= 0, 'the imbalance threshold is not negative');
  assert(Number.isInteger(input.maxMovesInFlight) && input.maxMovesInFlight >= 0, 'a move bound');
  const takers = input.brokers.filter((broker) => !broker.fenced && !broker.decommissioning);
  if (takers.length < 2) return [];
  const rackOf = new Map(input.brokers.map((broker) => [broker.brokerId, broker.rack]));
  const rackAware = takers.every((broker) => broker.rack !== null);
  const count = new Map<number, number>(takers.map((broker) => [broker.brokerId, 0]));
  const bytes = new Map<number, number>(takers.map((broker) => [broker.brokerId, 0]));
  const sizeOf = (partition: PartitionInfo): number => input.partitionBytes?.get(partition.groupId) ?? 0;
  const membersOf = (partition: PartitionInfo): readonly number[] =>
    partition.targetReplicas.length > 0
      ? partition.targetReplicas
      : [...partition.replicas, ...partition.learners];
  let inFlight = 0;
  let replicas = 0;
  for (const partition of input.partitions) {
    if (partition.targetReplicas.length > 0) inFlight++;
    const members = new Set([...membersOf(partition), ...partition.replicas, ...partition.learners]);
    for (const id of members) {
      const held = count.get(id);
      // A replica on a broker that takes none: evacuation (or its return) comes first.
      if (held === undefined) return [];
      if (!membersOf(partition).includes(id)) continue;
      count.set(id, held + 1);
      bytes.set(id, bytes.get(id)! + sizeOf(partition));
      replicas++;
    }
  }
  const share = replicas / takers.length;
  const high = share * (1 + input.imbalancePercent / 100);
  const low = share * (1 - input.imbalancePercent / 100);
  const moving = new Set<number>();
  const moves: Array<{ groupId: number; target: number[] }> = [];
  const byLoad = (a: number, b: number): number =>
    count.get(a)! - count.get(b)! || bytes.get(a)! - bytes.get(b)! || a - b;
  while (inFlight + moves.length < input.maxMovesInFlight) {
    const ids = [...count.keys()].sort(byLoad);
    let planned: { groupId: number; target: number[]; from: number; to: number; size: number } | null = null;
    search: for (const from of [...ids].reverse())
      for (const to of ids) {
        const gap = count.get(from)! - count.get(to)!;
        if (gap < 2) break;
        if (count.get(from)! <= high && count.get(to)! >= low) continue;
        const choice = pickReplica(input.partitions, from, to, {
          moving,
          rackOf: rackAware ? rackOf : null,
          sizeOf,
          byteGap: bytes.get(from)! - bytes.get(to)!,
        });
        if (choice === null) continue;
        planned = { ...choice, from, to, size: sizeOf(choice.partition) };
        break search;
      }
    if (planned === null) break;
    moving.add(planned.groupId);
    moves.push({ groupId: planned.groupId, target: planned.target });
    count.set(planned.from, count.get(planned.from)! - 1);
    count.set(planned.to, count.get(planned.to)! + 1);
    bytes.set(planned.from, bytes.get(planned.from)! - planned.size);
    bytes.set(planned.to, bytes.get(planned.to)! + planned.size);
  }
  return moves;
}

/** The replica of `from` to move to `to`, and the partition's target, or null when none may. */
function pickReplica(
  partitions: readonly PartitionInfo[],
  from: number,
  to: number,
  options: {
    moving: ReadonlySet<number>;
    rackOf: ReadonlyMap<number, string | null> | null;
    sizeOf: (partition: PartitionInfo) => number;
    byteGap: number;
  },
): { groupId: number; target: number[]; partition: PartitionInfo } | null {
  let best: { key: number[]; partition: PartitionInfo } | null = null;
  for (const partition of partitions) {
    if (partition.targetReplicas.length > 0 || partition.learners.length > 0) continue;
    // An operator's placement is kept, as Kafka keeps it (only repairs move it).
    if (partition.placedByOperator === true) continue;
    if (options.moving.has(partition.groupId)) continue;
    if (!partition.replicas.includes(from) || partition.replicas.includes(to)) continue;
    const target = partition.replicas.map((id) => (id === from ? to : id));
    if (options.rackOf !== null) {
      const racks = (list: readonly number[]) => new Set(list.map((id) => options.rackOf!.get(id))).size;
      if (racks(target) < racks(partition.replicas)) continue;
    }
    const size = options.sizeOf(partition);
    const key = [partition.leader === from ? 1 : 0, Math.abs(options.byteGap - 2 * size), partition.groupId];
    if (best === null || compareKeys(key, best.key) < 0) best = { key, partition };
  }
  if (best === null) return null;
  return {
    groupId: best.partition.groupId,
    target: best.partition.replicas.map((id) => (id === from ? to : id)),
    partition: best.partition,
  };
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let index = 0; index < a.length; index++) {
    const difference = a[index]! - b[index]!;
    if (difference !== 0) return difference;
  }
  return 0;
}
