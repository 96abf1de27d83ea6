import {
  type AssignmentContext,
  type Assignor,
  addPartition,
  compareMembers,
  emptyAssignment,
  subscribedTopics,
  toResult,
} from './types.js';

/**
 * Kafka's RangeAssignor ("range"): topic by topic, the members subscribed to it (in Kafka's
 * member order) take consecutive ranges of its partitions; the first `count % members` take one
 * extra. Co-partitioned topics land on the same member. Eager.
 */
export const rangeAssignor: Assignor = {
  name: 'range',
  rebalanceProtocol: 'eager',
  subscriptionUserData: () => null,
  assign(context: AssignmentContext) {
    const assignment = emptyAssignment(context);
    for (const topic of subscribedTopics(context)) {
      const members = context.members
        .filter((member) => member.subscription.topics.includes(topic))
        .sort(compareMembers);
      const count = context.partitionCounts.get(topic) ?? 0;
      const perMember = Math.floor(count / members.length);
      const extra = count % members.length;
      members.forEach((member, index) => {
        const start = perMember * index + Math.min(index, extra);
        const length = perMember + (index < extra ? 1 : 0);
        for (let partition = start; partition < start + length; partition++)
          addPartition(assignment, member.memberId, topic, partition);
      });
    }
    return toResult(assignment);
  },
};
