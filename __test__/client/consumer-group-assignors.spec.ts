import test from 'ava';
import { AssignerProtocol } from 'kafkajs';
import {
  cooperativeStickyAssignor,
  rangeAssignor,
  roundRobinAssignor,
} from '../../src/client/assignors/index.js';
import type { AssignmentContext, AssignorMember } from '../../src/client/assignors/types.js';
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type TopicPartitions,
} from '../../src/client/group-protocol.js';
import { Prng } from '../../src/lib/prng.js';

function member(
  memberId: string,
  topics: string[],
  owned: TopicPartitions[] = [],
  generationId = -1,
  groupInstanceId: string | null = null,
): AssignorMember {
  return {
    memberId,
    groupInstanceId,
    subscription: { version: 3, topics, userData: null, ownedPartitions: owned, generationId, rackId: null },
  };
}

const flat = (list: TopicPartitions[] | undefined): string[] =>
  (list ?? []).flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}-${p}`));

test("subscription v0 bytes are KafkaJS's MemberMetadata bytes, and each side reads the other's", (t) => {
  const ours = encodeSubscription({
    version: 0,
    topics: ['orders', 'payments'],
    userData: Buffer.from('ud'),
    ownedPartitions: [],
    generationId: -1,
    rackId: null,
  });
  const theirs = AssignerProtocol.MemberMetadata.encode({
    version: 0,
    topics: ['orders', 'payments'],
    userData: Buffer.from('ud'),
  });
  t.deepEqual(ours, theirs);
  t.deepEqual(AssignerProtocol.MemberMetadata.decode(ours)?.topics, ['orders', 'payments']);
  // A v3 subscription is read by KafkaJS as v0 (it ignores the fields after userData).
  const v3 = encodeSubscription({
    topics: ['orders'],
    userData: null,
    ownedPartitions: [{ topic: 'orders', partitions: [1, 2] }],
    generationId: 7,
    rackId: 'rack-a',
  });
  t.deepEqual(AssignerProtocol.MemberMetadata.decode(v3)?.topics, ['orders']);
  t.deepEqual(decodeSubscription(v3), {
    version: 3,
    topics: ['orders'],
    userData: null,
    ownedPartitions: [{ topic: 'orders', partitions: [1, 2] }],
    generationId: 7,
    rackId: 'rack-a',
  });
});

test("assignment bytes are KafkaJS's MemberAssignment bytes both ways; empty bytes are an empty assignment", (t) => {
  const theirs = AssignerProtocol.MemberAssignment.encode({
    version: 0,
    assignment: { orders: [0, 2], payments: [1] },
    userData: Buffer.alloc(0),
  });
  t.deepEqual(decodeAssignment(theirs).partitions, [
    { topic: 'orders', partitions: [0, 2] },
    { topic: 'payments', partitions: [1] },
  ]);
  const ours = encodeAssignment({
    version: 1,
    partitions: [{ topic: 'orders', partitions: [3] }],
    userData: null,
  });
  t.deepEqual(AssignerProtocol.MemberAssignment.decode(ours)?.assignment, { orders: [3] });
  t.deepEqual(decodeAssignment(Buffer.alloc(0)).partitions, []);
  t.throws(() => decodeSubscription(Buffer.from([0, 0, 0, 0, 0, 9]), 'm-1'), { message: /m-1/ });
});

test("range gives consecutive ranges per topic in Kafka's member order (Java's RangeAssignor results)", (t) => {
  const context: AssignmentContext = {
    members: [member('c1', ['t1', 't2']), member('c0', ['t1', 't2'])],
    partitionCounts: new Map([
      ['t1', 3],
      ['t2', 3],
    ]),
  };
  const result = rangeAssignor.assign(context);
  t.deepEqual(flat(result.get('c0')), ['t1-0', 't1-1', 't2-0', 't2-1']);
  t.deepEqual(flat(result.get('c1')), ['t1-2', 't2-2']);
  // Static members sort first, by instance id.
  const statics = rangeAssignor.assign({
    members: [member('a', ['t']), member('z', ['t'], [], -1, 'instance-1')],
    partitionCounts: new Map([['t', 2]]),
  });
  t.deepEqual(flat(statics.get('z')), ['t-0']);
  t.deepEqual(flat(statics.get('a')), ['t-1']);
});

test("roundrobin deals sorted partitions to subscribed members in turn (Java's RoundRobinAssignor results)", (t) => {
  const result = roundRobinAssignor.assign({
    members: [member('c0', ['t0', 't1']), member('c1', ['t0', 't1'])],
    partitionCounts: new Map([
      ['t0', 3],
      ['t1', 3],
    ]),
  });
  t.deepEqual(flat(result.get('c0')), ['t0-0', 't0-2', 't1-1']);
  t.deepEqual(flat(result.get('c1')), ['t0-1', 't1-0', 't1-2']);
  // Java's testMultipleConsumersMixedTopics: c0 {t1}, c1 {t1,t2}, c2 {t1}; t1 has 3, t2 has 2.
  const mixed = roundRobinAssignor.assign({
    members: [member('c0', ['t1']), member('c1', ['t1', 't2']), member('c2', ['t1'])],
    partitionCounts: new Map([
      ['t1', 3],
      ['t2', 2],
    ]),
  });
  t.deepEqual(flat(mixed.get('c0')), ['t1-0']);
  t.deepEqual(flat(mixed.get('c1')), ['t1-1', 't2-0', 't2-1']);
  t.deepEqual(flat(mixed.get('c2')), ['t1-2']);
});

test('cooperative-sticky keeps owned partitions, withholds a moving one for a generation, and is balanced after the second round', (t) => {
  const counts = new Map([['t', 6]]);
  const first = cooperativeStickyAssignor.assign({
    members: [member('a', ['t']), member('b', ['t'])],
    partitionCounts: counts,
  });
  t.is(flat(first.get('a')).length, 3);
  t.is(flat(first.get('b')).length, 3);
  // c joins: a and b keep two each and give one up; c gets nothing until they revoked.
  const second = cooperativeStickyAssignor.assign({
    members: [
      member('a', ['t'], first.get('a'), 1),
      member('b', ['t'], first.get('b'), 1),
      member('c', ['t'], [], -1),
    ],
    partitionCounts: counts,
  });
  for (const name of ['a', 'b'] as const) {
    t.is(flat(second.get(name)).length, 2);
    t.true(
      flat(second.get(name)).every((p) => flat(first.get(name)).includes(p)),
      'kept what it owned',
    );
  }
  t.deepEqual(flat(second.get('c')), []);
  // After revoking, they rejoin; now c receives the two freed partitions.
  const third = cooperativeStickyAssignor.assign({
    members: [
      member('a', ['t'], second.get('a'), 2),
      member('b', ['t'], second.get('b'), 2),
      member('c', ['t'], [], 2),
    ],
    partitionCounts: counts,
  });
  t.deepEqual(flat(third.get('a')), flat(second.get('a')));
  t.deepEqual(flat(third.get('b')), flat(second.get('b')));
  t.is(flat(third.get('c')).length, 2);
  // Generation userData: the 4-byte generation, as Java writes it for old-version leaders.
  t.deepEqual(
    cooperativeStickyAssignor.subscriptionUserData({ generationId: 5, owned: [] }),
    Buffer.from([0, 0, 0, 5]),
  );
});

test('every assignor, random subscriptions and ownership: each partition at most once, only to a subscriber; range and roundrobin assign all', (t) => {
  const prng = new Prng(42);
  for (let round = 0; round < 200; round++) {
    const topicCount = 1 + Math.floor(prng.nextFloat() * 3);
    const counts = new Map<string, number>();
    for (let i = 0; i < topicCount; i++) counts.set(`t${i}`, 1 + Math.floor(prng.nextFloat() * 8));
    const memberCount = 1 + Math.floor(prng.nextFloat() * 5);
    const claimed = new Set<string>();
    const members = Array.from({ length: memberCount }, (_, index) => {
      const topics = [...counts.keys()].filter(() => prng.nextFloat() < 0.7);
      if (topics.length === 0) topics.push('t0');
      const owned: TopicPartitions[] = topics.map((topic) => ({
        topic,
        partitions: Array.from({ length: counts.get(topic) as number }, (_, p) => p).filter((p) => {
          const key = `${topic}-${p}`;
          if (claimed.has(key) || prng.nextFloat() < 0.5) return false;
          claimed.add(key);
          return true;
        }),
      }));
      return member(`m${index}`, topics, owned, 3);
    });
    for (const assignor of [rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor]) {
      const result = assignor.assign({ members, partitionCounts: counts });
      const seen = new Set<string>();
      for (const each of members) {
        for (const key of flat(result.get(each.memberId))) {
          t.false(seen.has(key), `${assignor.name} round ${round}: ${key} twice`);
          seen.add(key);
          t.true(each.subscription.topics.includes(key.split('-')[0] as string));
        }
      }
      const subscribed = [...counts].filter(([topic]) =>
        members.some((m) => m.subscription.topics.includes(topic)),
      );
      const total = subscribed.reduce((sum, [, count]) => sum + count, 0);
      if (assignor !== cooperativeStickyAssignor) t.is(seen.size, total);
    }
  }
});
