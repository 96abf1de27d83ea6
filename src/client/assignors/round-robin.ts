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
 * Kafka's RoundRobinAssignor ("roundrobin"): every subscribed partition, sorted by topic then
 * partition, goes to the next member in Kafka's member order that subscribes to its topic.
 * Eager.
 */
export const roundRobinAssignor: Assignor = {
  name: 'roundrobin',
  rebalanceProtocol: 'eager',
  subscriptionUserData: () => null,
  assign(context: AssignmentContext) {
    const assignment = emptyAssignment(context);
    const members = [...context.members].sort(compareMembers);
    if (members.length === 0) return toResult(assignment);
    let cursor = 0;
    for (const topic of subscribedTopics(context)) {
      const count = context.partitionCounts.get(topic) ?? 0;
      for (let partition = 0; partition < count; partition++) {
        // subscribedTopics only lists topics some member subscribes to, so this ends.
        while (
          !(members[cursor % members.length] as (typeof members)[number]).subscription.topics.includes(topic)
        )
          cursor++;
        addPartition(
          assignment,
          (members[cursor % members.length] as (typeof members)[number]).memberId,
          topic,
          partition,
        );
        cursor++;
      }
    }
    return toResult(assignment);
  },
};
