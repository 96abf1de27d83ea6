import { partitionKey } from '../group-protocol.js';
import {
  type AssignmentContext,
  type Assignor,
  type AssignorMember,
  addPartition,
  compareMembers,
  compareStrings,
  emptyAssignment,
  subscribedTopics,
  toResult,
} from './types.js';

/** Bounds the balancing pass (each move lowers the spread, so it ends well before this). */
const BALANCE_MOVES_MAX = 100_000;

/** The generation a member's owned partitions are from: v2+ field, else Java's 4-byte userData. */
function ownedGeneration(member: AssignorMember): number {
  const { generationId, userData } = member.subscription;
  if (generationId >= 0) return generationId;
  if (userData !== null && userData.length >= 4) return userData.readInt32BE(0);
  return -1;
}

/**
 * "cooperative-sticky" (KIP-429, the name Java's CooperativeStickyAssignor and librdkafka use):
 * members keep the partitions they own as far as balance allows, the rest go to the least
 * loaded subscribed member, and a partition that changes owner is withheld from its new owner
 * for one generation: the old owner revokes it, rejoins, and the next assignment hands it over.
 * So no partition is ever owned by two members at once.
 *
 * Owned partitions come from the subscription (v1+); when two members claim one, the claim
 * from the newer generation wins. The userData is the generation as a 4-byte int, as Java
 * writes it, for leaders that read subscriptions older than v2.
 */
export const cooperativeStickyAssignor: Assignor = {
  name: 'cooperative-sticky',
  rebalanceProtocol: 'cooperative',
  subscriptionUserData: ({ generationId }) => {
    const bytes = Buffer.alloc(4);
    bytes.writeInt32BE(generationId);
    return bytes;
  },
  assign(context: AssignmentContext) {
    const members = [...context.members].sort(compareMembers);
    const topics = subscribedTopics(context);
    const subscribes = (member: AssignorMember, topic: string): boolean =>
      member.subscription.topics.includes(topic);

    // Current owners, one per partition (the newest generation's claim wins).
    const owner = new Map<string, { memberId: string; generation: number }>();
    for (const member of members) {
      const generation = ownedGeneration(member);
      for (const { topic, partitions } of member.subscription.ownedPartitions) {
        const count = context.partitionCounts.get(topic);
        if (count === undefined || !subscribes(member, topic)) continue;
        for (const partition of partitions) {
          if (partition < 0 || partition >= count) continue;
          const key = partitionKey(topic, partition);
          const previous = owner.get(key);
          if (previous === undefined || previous.generation < generation)
            owner.set(key, { memberId: member.memberId, generation });
        }
      }
    }

    // Each member may keep at most its fair share of what it can consume.
    const loads = new Map(members.map((member) => [member.memberId, [] as Array<[string, number]>]));
    const cap = new Map<string, number>();
    for (const member of members) {
      let share = 0;
      for (const topic of topics) {
        if (!subscribes(member, topic)) continue;
        const subscribers = members.filter((m) => subscribes(m, topic)).length;
        share += (context.partitionCounts.get(topic) ?? 0) / subscribers;
      }
      cap.set(member.memberId, Math.ceil(share));
    }
    const unassigned: Array<[string, number]> = [];
    for (const topic of topics) {
      const count = context.partitionCounts.get(topic) ?? 0;
      for (let partition = 0; partition < count; partition++) {
        const current = owner.get(partitionKey(topic, partition));
        const list = current === undefined ? undefined : loads.get(current.memberId);
        if (list !== undefined && list.length < (cap.get(current?.memberId ?? '') ?? 0))
          list.push([topic, partition]);
        else unassigned.push([topic, partition]);
      }
    }

    // The rest to the least-loaded subscribed member (ties in member order).
    for (const [topic, partition] of unassigned) {
      let best: AssignorMember | undefined;
      for (const member of members) {
        if (!subscribes(member, topic)) continue;
        if (
          best === undefined ||
          (loads.get(member.memberId)?.length ?? 0) < (loads.get(best.memberId)?.length ?? 0)
        )
          best = member;
      }
      if (best !== undefined) loads.get(best.memberId)?.push([topic, partition]);
    }

    // Balance: move a partition from a member to one holding two fewer that can take it.
    for (let moves = 0; moves < BALANCE_MOVES_MAX; moves++) {
      let moved = false;
      const byLoad = [...members].sort(
        (a, b) => (loads.get(b.memberId)?.length ?? 0) - (loads.get(a.memberId)?.length ?? 0),
      );
      outer: for (const from of byLoad) {
        const fromList = loads.get(from.memberId) as Array<[string, number]>;
        for (const to of [...byLoad].reverse()) {
          const toList = loads.get(to.memberId) as Array<[string, number]>;
          if (toList.length + 2 > fromList.length) break;
          // Prefer moving a partition the source did not own before (stickiness).
          const candidates = fromList
            .map((entry, index) => ({ entry, index }))
            .filter(({ entry }) => subscribes(to, entry[0]))
            .sort(
              (a, b) =>
                Number(owner.get(partitionKey(...a.entry))?.memberId === from.memberId) -
                  Number(owner.get(partitionKey(...b.entry))?.memberId === from.memberId) ||
                compareStrings(a.entry[0], b.entry[0]) ||
                b.entry[1] - a.entry[1],
            );
          const pick = candidates[0];
          if (pick === undefined) continue;
          fromList.splice(pick.index, 1);
          toList.push(pick.entry);
          moved = true;
          break outer;
        }
      }
      if (!moved) break;
    }

    // Withhold partitions that change owner until their owner has revoked them.
    const assignment = emptyAssignment(context);
    for (const member of members) {
      for (const [topic, partition] of loads.get(member.memberId) ?? []) {
        const current = owner.get(partitionKey(topic, partition));
        if (current !== undefined && current.memberId !== member.memberId) continue;
        addPartition(assignment, member.memberId, topic, partition);
      }
    }
    return toResult(assignment);
  },
};
