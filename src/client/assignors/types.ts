import type { Subscription, TopicPartitions } from '../group-protocol.js';

/**
 * Eager: every member gives up all its partitions before it rejoins (range, roundrobin).
 * Cooperative (KIP-429): members keep what they own through a rebalance and give up only what
 * the new assignment takes away; a partition moving between members is withheld for one
 * generation so it is never owned twice (cooperative-sticky).
 */
export type RebalanceProtocol = 'eager' | 'cooperative';

export interface AssignorMember {
  memberId: string;
  groupInstanceId: string | null;
  subscription: Subscription;
}

export interface AssignmentContext {
  members: AssignorMember[];
  /** Partition count of every subscribed topic that exists; other topics are skipped. */
  partitionCounts: ReadonlyMap<string, number>;
}

/**
 * A partition assignor, run by the group leader only. `name` is the JoinGroup protocol name:
 * members of other clients join the same protocol when they name an assignor the same way, so
 * the names and the subscription/assignment bytes are Kafka's (see group-protocol.ts).
 */
export interface Assignor {
  readonly name: string;
  readonly rebalanceProtocol: RebalanceProtocol;
  /** The userData this member sends in its subscription (null: none). */
  subscriptionUserData(state: { generationId: number; owned: TopicPartitions[] }): Buffer | null;
  /** Partitions per member id; every member of `context.members` gets an entry. */
  assign(context: AssignmentContext): Map<string, TopicPartitions[]>;
}

/**
 * Kafka's member order (AbstractPartitionAssignor.MemberInfo): members with a group instance id
 * first, by instance id, then the others by member id. Assignors that iterate members in order
 * use it so a mixed group's leader makes the same choice whichever client it runs.
 */
export function compareMembers(a: AssignorMember, b: AssignorMember): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null)
    return compareStrings(a.groupInstanceId, b.groupInstanceId);
  if (a.groupInstanceId !== null) return -1;
  if (b.groupInstanceId !== null) return 1;
  return compareStrings(a.memberId, b.memberId);
}

/** Java's String.compareTo order (UTF-16 code units), which JavaScript's < also uses. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The subscribed topics (of any member) that exist, sorted. */
export function subscribedTopics(context: AssignmentContext): string[] {
  const topics = new Set<string>();
  for (const member of context.members)
    for (const topic of member.subscription.topics) if (context.partitionCounts.has(topic)) topics.add(topic);
  return [...topics].sort(compareStrings);
}

/** An empty assignment per member, ready to fill. */
export function emptyAssignment(context: AssignmentContext): Map<string, Map<string, number[]>> {
  return new Map(context.members.map((member) => [member.memberId, new Map<string, number[]>()]));
}

export function addPartition(
  assignment: Map<string, Map<string, number[]>>,
  memberId: string,
  topic: string,
  partition: number,
): void {
  const byTopic = assignment.get(memberId);
  if (byTopic === undefined) throw new Error(`assignor: ${memberId} is not a member`);
  let partitions = byTopic.get(topic);
  if (partitions === undefined) {
    partitions = [];
    byTopic.set(topic, partitions);
  }
  partitions.push(partition);
}

/** The per-member map in the assignor result's form, topics and partitions sorted. */
export function toResult(assignment: Map<string, Map<string, number[]>>): Map<string, TopicPartitions[]> {
  const result = new Map<string, TopicPartitions[]>();
  for (const [memberId, byTopic] of assignment) {
    result.set(
      memberId,
      [...byTopic.keys()]
        .sort(compareStrings)
        .map((topic) => ({ topic, partitions: [...(byTopic.get(topic) as number[])].sort((a, b) => a - b) })),
    );
  }
  return result;
}
