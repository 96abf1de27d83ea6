import test from 'ava';
import { ConsumerGroup } from '../../src/client/consumer-group.js';
import { CoordinatorLink } from '../../src/client/group-coordinator.js';
import { fetchCommittedOffsets } from '../../src/client/group-offsets.js';
import { decodeAssignment, fromTopicPartitions } from '../../src/client/group-protocol.js';
import { bootstrap, startBroker } from '../broker/helpers.js';
import {
  clientFor,
  createTopic,
  describeGroup,
  eventually,
  Member,
  produceNumbered,
  QUICK,
  sharedState,
} from './consumer-group-helpers.js';

for (const assignor of ['range', 'cooperative-sticky'] as const) {
  test(`${assignor}: 3 members of a 12-partition topic own disjoint partitions and process every message while members leave and join`, async (t) => {
    const broker = await startBroker(t);
    const client = clientFor(t, bootstrap(broker));
    await createTopic(client, 'shared', 12);
    const shared = sharedState();
    const groupId = `workers-${assignor}`;
    const members = new Map<string, Member>();
    const add = (name: string): Member => {
      const member = new Member(
        name,
        clientFor(t, bootstrap(broker)),
        { groupId, assignors: [assignor] },
        ['shared'],
        shared,
      );
      members.set(name, member);
      return member;
    };
    t.teardown(() => Promise.all([...members.values()].map((member) => member.close())));

    const first = await produceNumbered(client, 'shared', 12, 'first', 600);
    await Promise.all(['a', 'b', 'c'].map((name) => add(name).group.start()));
    await shared.waitForAll(first);

    // b leaves, d joins, and more messages arrive meanwhile.
    const closing = (members.get('b') as Member).close();
    const second = produceNumbered(client, 'shared', 12, 'second', 600);
    await closing;
    members.delete('b');
    add('d');
    await shared.waitForAll(await second);
    const third = await produceNumbered(client, 'shared', 12, 'third', 120);
    await shared.waitForAll(third);

    t.deepEqual(shared.overlaps, [], 'no partition is owned by two members at once');
    // Once settled (d has joined: on a loaded machine its join can finish after the messages are
    // all processed by a and c), the three members' assignments cover the topic exactly once.
    await eventually(() => {
      const assignments = [...members.values()].map((member) => member.group.assignment());
      const owned = assignments.flat();
      return (
        assignments.every((assignment) => assignment.length > 0) &&
        owned.length === 12 &&
        new Set(owned.map((p) => p.partition)).size === 12
      );
    });
    const owners = [...members.values()].map((member) => member.group.assignment().length);
    t.deepEqual(
      owners.sort((x, y) => x - y),
      [4, 4, 4],
    );
    t.true(
      [...first, ...(await second), ...third].every((value) => shared.seen.has(value)),
      'every message processed at least once',
    );
  });
}

test('close() leaves the group: the coordinator lists the member no more as soon as close() returns', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'leaving', 4);
  const shared = sharedState();
  // A session this long would keep a member that just disappeared in the group for minutes.
  const options = { groupId: 'leavers', sessionTimeoutMs: 300_000, rebalanceTimeoutMs: 300_000 };
  const stay = new Member('stay', clientFor(t, bootstrap(broker)), options, ['leaving'], shared);
  const leave = new Member('leave', clientFor(t, bootstrap(broker)), options, ['leaving'], shared);
  t.teardown(() => stay.close());
  await Promise.all([stay.group.start(), leave.group.start()]);
  await eventually(() => stay.group.assignment().length + leave.group.assignment().length === 4);
  const leftId = leave.group.memberId;
  await leave.close();

  const link = new CoordinatorLink(client, 'leavers');
  t.teardown(() => link.close());
  const described = await describeGroup(link);
  const memberIds = described.members.map((member: { memberId: string }) => member.memberId);
  t.false(memberIds.includes(leftId));
  // And the one left takes every partition in the next generation (no session wait).
  await eventually(() => stay.group.assignment().length === 4);
  t.is(stay.group.assignment().length, 4);
});

test('committed offsets resume after a restart: a new member reads exactly what was produced after the commit', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'resume', 3);
  const before = await produceNumbered(client, 'resume', 3, 'before', 90);
  const first = new ConsumerGroup(clientFor(t, bootstrap(broker)), { ...QUICK, groupId: 'resumers' });
  first.subscribe('resume');
  const seenFirst: string[] = [];
  for await (const message of first) {
    seenFirst.push(message.value?.toString() ?? '');
    if (seenFirst.length === before.length) break;
  }
  // The last message was handed out but the loop broke before asking for the next: mark it.
  first.markProcessed({ topic: 'resume', partition: 0, offset: 29 });
  await first.close();
  t.deepEqual([...seenFirst].sort(), [...before].sort());

  const after = await produceNumbered(client, 'resume', 3, 'after', 30);
  const second = new ConsumerGroup(clientFor(t, bootstrap(broker)), { ...QUICK, groupId: 'resumers' });
  second.subscribe('resume');
  const seenSecond: string[] = [];
  let lastBefore: string | undefined;
  for await (const message of second) {
    const value = message.value?.toString() ?? '';
    if (value.startsWith('before')) lastBefore = value;
    seenSecond.push(value);
    if (seenSecond.filter((v) => v.startsWith('after')).length === after.length) break;
  }
  await second.close();
  // Only the last message of the partition whose loop broke could come again; nothing else.
  const redelivered = seenSecond.filter((value) => value.startsWith('before'));
  t.true(redelivered.length <= 1, `redelivered: ${redelivered.join(',')} (${lastBefore})`);
  t.deepEqual(seenSecond.filter((value) => value.startsWith('after')).sort(), [...after].sort());
});

test('pause stops a partition, resume continues it; seek rereads from an offset', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'controls', 2);
  await produceNumbered(client, 'controls', 2, 'm', 20);
  const group = new ConsumerGroup(clientFor(t, bootstrap(broker)), { ...QUICK, groupId: 'controllers' });
  t.teardown(() => group.close());
  group.subscribe(['controls']);
  await group.start();
  group.pause([{ topic: 'controls', partition: 1 }]);
  t.deepEqual(group.paused(), [{ topic: 'controls', partition: 1 }]);
  const iterator = group.messages();
  const fromZero: number[] = [];
  for (let i = 0; i < 10; i++) {
    const { value } = await iterator.next();
    t.is((value as { partition: number }).partition, 0);
    fromZero.push((value as { offset: number }).offset);
  }
  // Offsets are consecutive from the partition's first message (a Raft no-op may precede it).
  const base = fromZero[0] as number;
  t.deepEqual(
    fromZero,
    Array.from({ length: 10 }, (_, i) => base + i),
  );
  group.seek({ topic: 'controls', partition: 0, offset: base + 7 });
  group.resume([{ topic: 'controls', partition: 1 }]);
  const rest: string[] = [];
  while (rest.length < 13) {
    const { value } = await iterator.next();
    const message = value as { partition: number; offset: number };
    rest.push(`${message.partition}:${message.offset}`);
  }
  await iterator.return(undefined);
  t.deepEqual(
    rest.filter((entry) => entry.startsWith('0:')),
    [`0:${base + 7}`, `0:${base + 8}`, `0:${base + 9}`],
  );
  t.is(rest.filter((entry) => entry.startsWith('1:')).length, 10);
});

test('batches() yields whole fetched batches; a RegExp subscription picks up a topic created later; a batch finished during the rebalance is not read again', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'logs-a', 1);
  await produceNumbered(client, 'logs-a', 1, 'a', 5);
  const group = new ConsumerGroup(clientFor(t, bootstrap(broker)), {
    ...QUICK,
    groupId: 'pattern',
    metadataRefreshMs: 100,
  });
  t.teardown(() => group.close());
  group.subscribe(/^logs-/);
  const topics = new Set<string>();
  let count = 0;
  let created = false;
  for await (const batch of group.batches()) {
    topics.add(batch.topic);
    count += batch.messages.length;
    t.true(batch.messages.length > 0);
    if (!created) {
      created = true;
      await createTopic(client, 'logs-b', 2);
      await produceNumbered(client, 'logs-b', 2, 'b', 6);
      // Hold this batch until the rebalance the new topic causes has stopped the partition
      // (fenced partitions read as paused): finishing it then must still count as processed.
      await eventually(() => group.paused().length > 0);
    }
    if (count >= 11 && topics.has('logs-b')) break;
  }
  t.deepEqual([...topics].sort(), ['logs-a', 'logs-b']);
  t.is(count, 11, 'nothing read twice across the rebalance the new topic caused');
});

test('the assignment the leader sends is what every member reports owning', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'agree', 6);
  const shared = sharedState();
  const a = new Member(
    'a',
    clientFor(t, bootstrap(broker)),
    { groupId: 'agree', assignors: ['roundrobin'] },
    ['agree'],
    shared,
  );
  const b = new Member(
    'b',
    clientFor(t, bootstrap(broker)),
    { groupId: 'agree', assignors: ['roundrobin'] },
    ['agree'],
    shared,
  );
  t.teardown(() => Promise.all([a.close(), b.close()]));
  await Promise.all([a.group.start(), b.group.start()]);
  await eventually(() => a.group.assignment().length + b.group.assignment().length === 6);
  const link = new CoordinatorLink(client, 'agree');
  t.teardown(() => link.close());
  await eventually(async () => {
    const described = await describeGroup(link);
    return described.groupState === 'Stable';
  });
  const described = await describeGroup(link);
  t.is(described.protocolData, 'roundrobin');
  for (const member of [a, b]) {
    const entry = described.members.find((m: { memberId: string }) => m.memberId === member.group.memberId);
    const keys = fromTopicPartitions(decodeAssignment(entry.memberAssignment).partitions).sort();
    t.deepEqual(
      keys,
      member.group
        .assignment()
        .map(({ topic, partition }) => `${topic}\u0000${partition}`)
        .sort(),
    );
  }
});

test('static membership: close() keeps the member registered, and a restart with the same groupInstanceId takes back its partitions', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'statics', 4);
  const options = { ...QUICK, groupId: 'statics', assignors: ['range'] };
  const start = async (instance: string) => {
    const group = new ConsumerGroup(clientFor(t, bootstrap(broker)), {
      ...options,
      groupInstanceId: instance,
    });
    group.subscribe('statics');
    await group.start();
    return group;
  };
  const first = await start('instance-1');
  const second = await start('instance-2');
  t.teardown(() => second.close());
  await eventually(() => first.assignment().length === 2 && second.assignment().length === 2);
  // Range orders static members by instance id: instance-1 takes the first range.
  t.deepEqual(
    first.assignment().map((p) => p.partition),
    [0, 1],
  );
  await first.close();

  const link = new CoordinatorLink(client, 'statics');
  t.teardown(() => link.close());
  const described = await describeGroup(link);
  const instances = described.members
    .map((m: { groupInstanceId: string | null }) => m.groupInstanceId)
    .sort();
  t.deepEqual(instances, ['instance-1', 'instance-2'], 'no LeaveGroup: the static member stays registered');

  const again = await start('instance-1');
  t.teardown(() => again.close());
  await eventually(() => again.assignment().length === 2 && second.assignment().length === 2);
  t.deepEqual(
    again.assignment().map((p) => p.partition),
    [0, 1],
  );
  t.deepEqual(
    second.assignment().map((p) => p.partition),
    [2, 3],
  );
});

test('heartbeats run off the message path: a message handled for three session timeouts keeps the member in its generation', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'slow', 2);
  await produceNumbered(client, 'slow', 2, 's', 2);
  const options = { ...QUICK, groupId: 'slow', sessionTimeoutMs: 1_500, heartbeatIntervalMs: 200 };
  const slow = new ConsumerGroup(clientFor(t, bootstrap(broker)), options);
  const other = new ConsumerGroup(clientFor(t, bootstrap(broker)), options);
  t.teardown(() => Promise.all([slow.close(), other.close()]));
  slow.subscribe('slow');
  other.subscribe('slow');
  await Promise.all([slow.start(), other.start()]);
  await eventually(() => slow.assignment().length === 1 && other.assignment().length === 1);
  const generation = slow.generationId;
  const memberId = slow.memberId;
  const iterator = slow.messages();
  await iterator.next();
  // Three session timeouts inside the loop body: without heartbeats of its own the coordinator
  // would drop the member and hand its partition to the other one.
  await new Promise((resolve) => setTimeout(resolve, 3 * options.sessionTimeoutMs));
  t.is(slow.generationId, generation);
  t.is(slow.memberId, memberId);
  t.is(other.assignment().length, 1);
  await iterator.return(undefined);
});

test('on a rebalance onPartitionsRevoked runs before the commit: what the hook marks processed is committed', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'hooks', 1);
  await produceNumbered(client, 'hooks', 1, 'h', 5);
  let held: { topic: string; partition: number; offset: number } | undefined;
  const revokedWith: string[] = [];
  const first: ConsumerGroup = new ConsumerGroup(clientFor(t, bootstrap(broker)), {
    ...QUICK,
    groupId: 'hooks',
    assignors: ['range'],
    autoCommitIntervalMs: 600_000,
    onPartitionsRevoked: (partitions) => {
      revokedWith.push(...partitions.map((p) => `${p.topic}/${p.partition}`));
      if (held) first.markProcessed(held);
    },
  });
  t.teardown(() => first.close());
  first.subscribe('hooks');
  const iterator = first.messages();
  const zero = (await iterator.next()).value as { offset: number };
  held = {
    topic: 'hooks',
    partition: 0,
    offset: ((await iterator.next()).value as { offset: number }).offset,
  };
  // Leaving the loop does not count the message in hand: only `zero` is processed so far.
  await iterator.return(undefined);

  const second = new ConsumerGroup(clientFor(t, bootstrap(broker)), {
    ...QUICK,
    groupId: 'hooks',
    assignors: ['range'],
  });
  t.teardown(() => second.close());
  second.subscribe('hooks');
  await second.start();
  await eventually(() => revokedWith.length > 0);
  t.deepEqual(revokedWith, ['hooks/0']);
  const link = new CoordinatorLink(client, 'hooks');
  t.teardown(() => link.close());
  // Had the commit gone out before the hook, it would hold zero.offset + 1 (and nothing else
  // commits: the auto-commit interval is ten minutes).
  const committedOffset = async () =>
    (await fetchCommittedOffsets(link, [{ topic: 'hooks', partition: 0 }]))[0]?.offset;
  await eventually(
    async () =>
      (await committedOffset()) !== undefined && second.assignment().length + first.assignment().length === 1,
  );
  t.is(await committedOffset(), (held as { offset: number }).offset + 1);
  t.true((held as { offset: number }).offset > zero.offset);
});

test('the leader notices a topic another member subscribed to being created, and assigns it', async (t) => {
  t.timeout(60_000);
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'mine', 1);
  const options = { ...QUICK, groupId: 'mixed-topics', metadataRefreshMs: 100 };
  const leader = new ConsumerGroup(clientFor(t, bootstrap(broker)), options);
  t.teardown(() => leader.close());
  leader.subscribe('mine');
  await leader.start();
  const follower = new ConsumerGroup(clientFor(t, bootstrap(broker)), options);
  t.teardown(() => follower.close());
  follower.subscribe('theirs'); // does not exist yet
  await follower.start();
  t.true(leader.isLeader);
  t.deepEqual(follower.assignment(), []);
  await createTopic(client, 'theirs', 2);
  await eventually(() => follower.assignment().length === 2);
  t.deepEqual(follower.assignment(), [
    { topic: 'theirs', partition: 0 },
    { topic: 'theirs', partition: 1 },
  ]);
});
