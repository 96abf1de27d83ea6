/**
 * ControllerState.apply, record by record: what each record changes, and that an invalid one
 * changes nothing (byte-identical snapshot) and answers with the Kafka error a client acts on.
 */
import test, { type ExecutionContext } from 'ava';
import {
  type ControllerRecord,
  ControllerState,
  type KafkaErrorName,
  type PartitionInfo,
} from '../../src/controller/index.js';
import { registerBroker, topicId } from './fixtures.js';

function applyOk(t: ExecutionContext, state: ControllerState, record: ControllerRecord): void {
  const result = state.apply(record);
  t.deepEqual(result, { ok: true }, `${record.type} applies`);
  state.assertInvariants();
}

/** Applies a record that must fail with `errorName` and leave the state exactly as it was. */
function applyFails(
  t: ExecutionContext,
  state: ControllerState,
  record: ControllerRecord,
  errorName: KafkaErrorName,
  message?: RegExp,
): void {
  const before = state.encodeSnapshot();
  const result = state.apply(record);
  t.false(result.ok, `${record.type} is refused`);
  if (!result.ok) {
    t.is(result.errorName, errorName, result.message);
    if (message !== undefined) t.regex(result.message, message);
  }
  t.deepEqual(state.encodeSnapshot(), before, 'a refused record changes nothing');
  state.assertInvariants();
}

/** Brokers 1..count registered. */
function withBrokers(t: ExecutionContext, count: number): ControllerState {
  const state = ControllerState.empty();
  for (let id = 1; id <= count; id++) applyOk(t, state, registerBroker(id));
  return state;
}

function createTopic(
  name: string,
  id: number,
  partitions: Array<{ groupId: number; replicas: number[] }>,
  replicationFactor = partitions[0]!.replicas.length,
): Extract<ControllerRecord, { type: 'create-topic' }> {
  return { type: 'create-topic', name, topicId: topicId(id), configs: {}, replicationFactor, partitions };
}

test('an empty state has no cluster id, no brokers or topics, and starts ids at group 1 and producer 0', (t) => {
  const state = ControllerState.empty();
  t.is(state.clusterId, null);
  t.deepEqual(state.brokers(), []);
  t.deepEqual(state.topics(), []);
  t.is(state.nextGroupId, 1);
  t.is(state.nextProducerId, 0);
  t.deepEqual(state.brokerConfigs(), {});
});

test('init-cluster sets the id once; a repeat of the same id is accepted, another id is INCONSISTENT_CLUSTER_ID', (t) => {
  const state = ControllerState.empty();
  applyOk(t, state, { type: 'init-cluster', clusterId: 'cluster-a' });
  t.is(state.clusterId, 'cluster-a');
  applyOk(t, state, { type: 'init-cluster', clusterId: 'cluster-a' });
  applyFails(
    t,
    state,
    { type: 'init-cluster', clusterId: 'cluster-b' },
    'INCONSISTENT_CLUSTER_ID',
    /cluster-a/,
  );
  t.is(state.clusterId, 'cluster-a');
});

test('register-broker adds an unfenced broker; brokers() lists them by id', (t) => {
  const state = ControllerState.empty();
  applyOk(t, state, registerBroker(3, { rack: 'r1' }));
  applyOk(t, state, registerBroker(1));
  t.deepEqual(
    state.brokers().map((broker) => broker.brokerId),
    [1, 3],
  );
  t.deepEqual(state.broker(3), {
    brokerId: 3,
    raft: { host: '127.0.0.1', port: 7003 },
    client: { host: '127.0.0.1', port: 9003 },
    rack: 'r1',
    incarnationId: 'incarnation-3',
    fenced: false,
    decommissioning: false,
  });
  t.is(state.broker(2), undefined);
});

test('register-broker of a known id updates its endpoints, rack and incarnation and unfences it', (t) => {
  const state = withBrokers(t, 2);
  applyOk(t, state, { type: 'fence-broker', brokerId: 2 });
  t.true(state.broker(2)!.fenced);
  applyOk(t, state, {
    ...registerBroker(2, { rack: 'r9', incarnationId: 'restarted' }),
    client: { host: '10.0.0.2', port: 19092 },
  });
  const broker = state.broker(2)!;
  t.false(broker.fenced);
  t.deepEqual(broker.client, { host: '10.0.0.2', port: 19092 });
  t.is(broker.rack, 'r9');
  t.is(broker.incarnationId, 'restarted');
  t.is(state.brokers().length, 2);
});

test('fence-broker and unfence-broker toggle fenced; liveBrokers omits fenced ones; unknown ids are BROKER_NOT_AVAILABLE', (t) => {
  const state = withBrokers(t, 3);
  applyOk(t, state, { type: 'fence-broker', brokerId: 2 });
  t.deepEqual(
    state.liveBrokers().map((broker) => broker.brokerId),
    [1, 3],
  );
  applyOk(t, state, { type: 'fence-broker', brokerId: 2 });
  t.true(state.broker(2)!.fenced, 'fencing twice is harmless');
  applyOk(t, state, { type: 'unfence-broker', brokerId: 2 });
  t.deepEqual(
    state.liveBrokers().map((broker) => broker.brokerId),
    [1, 2, 3],
  );
  applyFails(t, state, { type: 'fence-broker', brokerId: 9 }, 'BROKER_NOT_AVAILABLE', /broker 9/);
  applyFails(t, state, { type: 'unfence-broker', brokerId: 9 }, 'BROKER_NOT_AVAILABLE');
});

test('create-topic records the topic, its partitions in order with preferred leader first, and advances nextGroupId past the ids used', (t) => {
  const state = withBrokers(t, 3);
  applyOk(t, state, {
    ...createTopic('orders', 1, [
      { groupId: 5, replicas: [2, 3] },
      { groupId: 3, replicas: [3, 1] },
    ]),
    configs: { 'retention.ms': '1000' },
  });
  const topic = state.topicByName('orders')!;
  t.is(state.topicById(topicId(1)), topic);
  t.deepEqual(topic.configs, { 'retention.ms': '1000' });
  t.is(topic.replicationFactor, 2);
  t.deepEqual(topic.partitions[1], {
    topicId: topicId(1),
    topic: 'orders',
    partition: 1,
    groupId: 3,
    replicas: [3, 1],
    learners: [],
    preferredLeader: 3,
    leader: -1,
    leaderEpoch: -1,
    targetReplicas: [],
    placedByOperator: false,
  });
  t.is(state.partitionByGroup(5)!.partition, 0);
  t.is(state.nextGroupId, 6);
  t.deepEqual(
    state.replicasOn(1).map((partition) => partition.groupId),
    [3],
  );
  t.deepEqual(
    state.replicasOn(3).map((partition) => partition.groupId),
    [5, 3],
  );
});

test('create-topic refuses a taken name or topic id (TOPIC_ALREADY_EXISTS) and an illegal name (INVALID_TOPIC_EXCEPTION)', (t) => {
  const state = withBrokers(t, 1);
  applyOk(t, state, createTopic('orders', 1, [{ groupId: 1, replicas: [1] }]));
  applyFails(
    t,
    state,
    createTopic('orders', 2, [{ groupId: 2, replicas: [1] }]),
    'TOPIC_ALREADY_EXISTS',
    /orders/,
  );
  applyFails(
    t,
    state,
    createTopic('other', 1, [{ groupId: 2, replicas: [1] }]),
    'TOPIC_ALREADY_EXISTS',
    /topic id/,
  );
  for (const name of ['..', 'a/b', 'spaces here', 'é']) {
    applyFails(t, state, createTopic(name, 3, [{ groupId: 2, replicas: [1] }]), 'INVALID_TOPIC_EXCEPTION');
  }
});

test('create-topic refuses assignments that do not match the replication factor, repeat a broker or name an unknown one (INVALID_REPLICA_ASSIGNMENT)', (t) => {
  const state = withBrokers(t, 3);
  applyFails(
    t,
    state,
    createTopic('t', 1, [{ groupId: 1, replicas: [1, 2] }], 3),
    'INVALID_REPLICA_ASSIGNMENT',
    /replication factor is 3/,
  );
  applyFails(
    t,
    state,
    createTopic('t', 1, [
      { groupId: 1, replicas: [1, 2] },
      { groupId: 2, replicas: [1] },
    ]),
    'INVALID_REPLICA_ASSIGNMENT',
  );
  applyFails(
    t,
    state,
    createTopic('t', 1, [{ groupId: 1, replicas: [2, 2] }]),
    'INVALID_REPLICA_ASSIGNMENT',
    /twice/,
  );
  applyFails(
    t,
    state,
    createTopic('t', 1, [{ groupId: 1, replicas: [1, 4] }]),
    'INVALID_REPLICA_ASSIGNMENT',
    /unknown broker 4/,
  );
});

test('create-topic refuses group ids used before, even by a deleted topic, or repeated in the record (INVALID_REQUEST)', (t) => {
  const state = withBrokers(t, 1);
  applyOk(t, state, createTopic('a', 1, [{ groupId: 1, replicas: [1] }]));
  applyFails(t, state, createTopic('b', 2, [{ groupId: 1, replicas: [1] }]), 'INVALID_REQUEST', /group id 1/);
  applyOk(t, state, { type: 'delete-topic', topicId: topicId(1) });
  applyFails(t, state, createTopic('b', 2, [{ groupId: 1, replicas: [1] }]), 'INVALID_REQUEST');
  applyFails(
    t,
    state,
    createTopic('b', 2, [
      { groupId: 4, replicas: [1] },
      { groupId: 4, replicas: [1] },
    ]),
    'INVALID_REQUEST',
  );
  applyOk(t, state, createTopic('b', 2, [{ groupId: 2, replicas: [1] }]));
});

test('delete-topic removes the topic and its partitions, remembers the id, and keeps group ids used', (t) => {
  const state = withBrokers(t, 2);
  applyOk(
    t,
    state,
    createTopic('orders', 1, [
      { groupId: 1, replicas: [1, 2] },
      { groupId: 2, replicas: [2, 1] },
    ]),
  );
  applyOk(t, state, { type: 'delete-topic', topicId: topicId(1) });
  t.is(state.topicByName('orders'), undefined);
  t.is(state.topicById(topicId(1)), undefined);
  t.is(state.partitionByGroup(1), undefined);
  t.deepEqual(state.replicasOn(1), []);
  t.true(state.isDeletedTopic(topicId(1)));
  t.false(state.isDeletedTopic(topicId(2)));
  t.deepEqual(state.deletedTopicIds(), [topicId(1)]);
  t.is(state.nextGroupId, 3);
  applyFails(t, state, { type: 'delete-topic', topicId: topicId(1) }, 'UNKNOWN_TOPIC_OR_PARTITION');
  applyFails(
    t,
    state,
    createTopic('orders', 1, [{ groupId: 3, replicas: [1, 2] }]),
    'TOPIC_ALREADY_EXISTS',
    /deleted topic/,
  );
  applyOk(t, state, createTopic('orders', 2, [{ groupId: 3, replicas: [1, 2] }]));
  t.is(state.topicByName('orders')!.topicId, topicId(2));
});

test('create-partitions appends partitions with the next indices and the topic replication factor', (t) => {
  const state = withBrokers(t, 2);
  applyOk(t, state, createTopic('t', 1, [{ groupId: 1, replicas: [1, 2] }]));
  applyOk(t, state, {
    type: 'create-partitions',
    topicId: topicId(1),
    partitions: [
      { groupId: 2, replicas: [2, 1] },
      { groupId: 9, replicas: [1, 2] },
    ],
  });
  const topic = state.topicByName('t')!;
  t.deepEqual(
    topic.partitions.map((partition) => [partition.partition, partition.groupId, partition.preferredLeader]),
    [
      [0, 1, 1],
      [1, 2, 2],
      [2, 9, 1],
    ],
  );
  t.is(state.nextGroupId, 10);
  t.is(state.partitionByGroup(9)!.partition, 2);
  applyFails(
    t,
    state,
    { type: 'create-partitions', topicId: topicId(5), partitions: [{ groupId: 10, replicas: [1, 2] }] },
    'UNKNOWN_TOPIC_OR_PARTITION',
  );
  applyFails(
    t,
    state,
    { type: 'create-partitions', topicId: topicId(1), partitions: [{ groupId: 10, replicas: [1] }] },
    'INVALID_REPLICA_ASSIGNMENT',
  );
  applyFails(
    t,
    state,
    { type: 'create-partitions', topicId: topicId(1), partitions: [{ groupId: 3, replicas: [1, 2] }] },
    'INVALID_REQUEST',
  );
});

test('alter-configs on a topic sets and (with null) deletes keys; an unknown topic is UNKNOWN_TOPIC_OR_PARTITION', (t) => {
  const state = withBrokers(t, 1);
  applyOk(t, state, {
    ...createTopic('t', 1, [{ groupId: 1, replicas: [1] }]),
    configs: { 'retention.ms': '1', 'segment.ms': '2' },
  });
  applyOk(t, state, {
    type: 'alter-configs',
    resource: 'topic',
    name: 't',
    configs: { 'retention.ms': null, 'segment.bytes': '4096', 'not.there': null },
  });
  t.deepEqual(state.topicByName('t')!.configs, { 'segment.bytes': '4096', 'segment.ms': '2' });
  applyFails(
    t,
    state,
    { type: 'alter-configs', resource: 'topic', name: 'nope', configs: { a: '1' } },
    'UNKNOWN_TOPIC_OR_PARTITION',
  );
});

test('alter-configs on brokers: name "" sets cluster-wide defaults, a broker id overrides them for that broker', (t) => {
  const state = withBrokers(t, 2);
  applyOk(t, state, { type: 'alter-configs', resource: 'broker', name: '', configs: { a: '1', b: '1' } });
  applyOk(t, state, { type: 'alter-configs', resource: 'broker', name: '2', configs: { b: '2' } });
  t.deepEqual(state.brokerConfigs(), { a: '1', b: '1' });
  t.deepEqual(state.brokerConfigs(1), { a: '1', b: '1' });
  t.deepEqual(state.brokerConfigs(2), { a: '1', b: '2' });
  applyOk(t, state, { type: 'alter-configs', resource: 'broker', name: '2', configs: { b: null } });
  t.deepEqual(state.brokerConfigs(2), { a: '1', b: '1' });
  applyOk(t, state, { type: 'alter-configs', resource: 'broker', name: '', configs: { a: null } });
  t.deepEqual(state.brokerConfigs(), { b: '1' });
});

test('producer-id-block advances nextProducerId; a block starting below it is INVALID_REQUEST; an unknown broker is BROKER_NOT_AVAILABLE', (t) => {
  const state = withBrokers(t, 1);
  applyOk(t, state, { type: 'producer-id-block', brokerId: 1, firstProducerId: 0, size: 1000 });
  t.is(state.nextProducerId, 1000);
  applyFails(
    t,
    state,
    { type: 'producer-id-block', brokerId: 1, firstProducerId: 999, size: 10 },
    'INVALID_REQUEST',
    /overlaps/,
  );
  applyOk(t, state, { type: 'producer-id-block', brokerId: 1, firstProducerId: 5000, size: 10 });
  t.is(state.nextProducerId, 5010, 'a gap is allowed');
  applyFails(
    t,
    state,
    { type: 'producer-id-block', brokerId: 2, firstProducerId: 6000, size: 10 },
    'BROKER_NOT_AVAILABLE',
  );
});

test('partition-replicas replaces replicas and learners; a removed preferred leader or leader is replaced', (t) => {
  const state = withBrokers(t, 4);
  applyOk(t, state, createTopic('t', 1, [{ groupId: 1, replicas: [1, 2, 3] }]));
  applyOk(t, state, { type: 'partition-leaders', leaders: [{ groupId: 1, leader: 1, leaderEpoch: 4 }] });
  applyOk(t, state, { type: 'partition-replicas', groupId: 1, replicas: [1, 2, 3], learners: [4] });
  t.deepEqual(
    state.replicasOn(4).map((partition) => partition.groupId),
    [1],
    'a learner is hosted too',
  );
  applyOk(t, state, { type: 'partition-replicas', groupId: 1, replicas: [2, 3, 4], learners: [] });
  const partition = state.partitionByGroup(1)!;
  t.deepEqual(partition.replicas, [2, 3, 4]);
  t.deepEqual(partition.learners, []);
  t.is(partition.preferredLeader, 2);
  t.is(partition.leader, -1);
  t.is(partition.leaderEpoch, 4, 'the epoch stays so older reports remain stale');
  t.deepEqual(state.replicasOn(1), []);
  t.is(state.topicByName('t')!.partitions[0], partition);
});

test('partition-replicas keeps a preferred leader and leader that remain replicas', (t) => {
  const state = withBrokers(t, 4);
  applyOk(t, state, createTopic('t', 1, [{ groupId: 1, replicas: [1, 2, 3] }]));
  applyOk(t, state, { type: 'preferred-leader', groupId: 1, preferred: 3 });
  applyOk(t, state, { type: 'partition-leaders', leaders: [{ groupId: 1, leader: 2, leaderEpoch: 1 }] });
  applyOk(t, state, { type: 'partition-replicas', groupId: 1, replicas: [4, 2, 3], learners: [] });
  const partition = state.partitionByGroup(1)!;
  t.is(partition.preferredLeader, 3);
  t.is(partition.leader, 2);
});

test('partition-replicas refuses an unknown group, a broker listed twice and an unregistered broker', (t) => {
  const state = withBrokers(t, 3);
  applyOk(t, state, createTopic('t', 1, [{ groupId: 1, replicas: [1, 2] }]));
  applyFails(
    t,
    state,
    { type: 'partition-replicas', groupId: 2, replicas: [1], learners: [] },
    'UNKNOWN_TOPIC_OR_PARTITION',
  );
  applyFails(
    t,
    state,
    { type: 'partition-replicas', groupId: 1, replicas: [1, 2], learners: [2] },
    'INVALID_REPLICA_ASSIGNMENT',
    /twice/,
  );
  applyFails(
    t,
    state,
    { type: 'partition-replicas', groupId: 1, replicas: [1, 7], learners: [] },
    'INVALID_REPLICA_ASSIGNMENT',
    /unknown broker 7/,
  );
});

test('partition-leaders records leader and epoch; stale epochs, unknown groups and non-replica leaders are ignored', (t) => {
  const state = withBrokers(t, 3);
  applyOk(
    t,
    state,
    createTopic('t', 1, [
      { groupId: 1, replicas: [1, 2] },
      { groupId: 2, replicas: [2, 3] },
    ]),
  );
  applyOk(t, state, {
    type: 'partition-leaders',
    leaders: [
      { groupId: 1, leader: 2, leaderEpoch: 5 },
      { groupId: 2, leader: 3, leaderEpoch: 1 },
      { groupId: 99, leader: 1, leaderEpoch: 1 },
    ],
  });
  const leaderOf = (groupId: number): [number, number] => {
    const partition = state.partitionByGroup(groupId)!;
    return [partition.leader, partition.leaderEpoch];
  };
  t.deepEqual(leaderOf(1), [2, 5]);
  t.deepEqual(leaderOf(2), [3, 1]);
  applyOk(t, state, {
    type: 'partition-leaders',
    leaders: [
      { groupId: 1, leader: 1, leaderEpoch: 4 },
      { groupId: 2, leader: 1, leaderEpoch: 9 },
    ],
  });
  t.deepEqual(leaderOf(1), [2, 5], 'a report of an older epoch is stale');
  t.deepEqual(leaderOf(2), [3, 1], 'broker 1 is not a replica of group 2');
  applyOk(t, state, { type: 'partition-leaders', leaders: [{ groupId: 1, leader: -1, leaderEpoch: 5 }] });
  t.deepEqual(leaderOf(1), [-1, 5], 'the same epoch may report the leader lost');
  applyOk(t, state, { type: 'partition-leaders', leaders: [{ groupId: 1, leader: 1, leaderEpoch: 6 }] });
  t.deepEqual(leaderOf(1), [1, 6]);
});

test('preferred-leader must name a replica (INVALID_REPLICA_ASSIGNMENT) of a known group (UNKNOWN_TOPIC_OR_PARTITION)', (t) => {
  const state = withBrokers(t, 3);
  applyOk(t, state, createTopic('t', 1, [{ groupId: 1, replicas: [1, 2] }]));
  applyOk(t, state, { type: 'preferred-leader', groupId: 1, preferred: 2 });
  t.is(state.partitionByGroup(1)!.preferredLeader, 2);
  t.deepEqual(state.partitionByGroup(1)!.replicas, [1, 2], 'the replica order is unchanged');
  applyFails(t, state, { type: 'preferred-leader', groupId: 1, preferred: 3 }, 'INVALID_REPLICA_ASSIGNMENT');
  applyFails(t, state, { type: 'preferred-leader', groupId: 2, preferred: 1 }, 'UNKNOWN_TOPIC_OR_PARTITION');
});

test('apply answers a malformed in-memory record with INVALID_REQUEST instead of throwing', (t) => {
  const state = withBrokers(t, 1);
  const malformed = [
    { type: 'fence-broker', brokerId: 1.5 },
    { type: 'no-such-record' },
    { type: 'create-topic', name: 't' },
    null,
  ] as unknown as ControllerRecord[];
  for (const record of malformed) {
    const before = state.encodeSnapshot();
    const result = state.apply(record);
    t.false(result.ok);
    if (!result.ok) t.is(result.errorName, 'INVALID_REQUEST');
    t.deepEqual(state.encodeSnapshot(), before);
  }
});

test('objects handed out are frozen views: mutating throws, later records do not change them, and the state keeps no alias of a record', (t) => {
  const state = withBrokers(t, 2);
  const record = createTopic('t', 1, [{ groupId: 1, replicas: [1, 2] }]);
  applyOk(t, state, record);
  record.partitions[0]!.replicas.push(3);
  t.deepEqual(state.partitionByGroup(1)!.replicas, [1, 2], 'changing the applied record changes nothing');
  const before: PartitionInfo = state.partitionByGroup(1)!;
  t.throws(() => {
    before.replicas.push(5);
  });
  t.throws(() => {
    (before as { leader: number }).leader = 2;
  });
  t.throws(() => {
    state.brokers()[0]!.fenced = true;
  });
  applyOk(t, state, { type: 'partition-leaders', leaders: [{ groupId: 1, leader: 2, leaderEpoch: 1 }] });
  t.is(before.leader, -1);
  t.is(state.partitionByGroup(1)!.leader, 2);
});
