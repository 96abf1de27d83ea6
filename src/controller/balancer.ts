/**
 * Leader balancing (DESIGN decision 7): when a live broker leads more than its share of the
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
