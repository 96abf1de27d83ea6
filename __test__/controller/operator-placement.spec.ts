/**
 * An operator's placement is kept: replica balancing never picks a partition whose replicas an
 * operator chose (explicit assignments at creation, a reassignment through the Kafka API), while a
 * repair (re-replication off a dead or decommissioned broker) still moves it and makes it the
 * controller's again (src/controller/balancer.ts, state.ts, records.ts).
 */
import test, { type ExecutionContext } from 'ava';
import {
  type ControllerRecord,
  ControllerState,
  decodeRecord,
  encodeRecord,
  type PartitionInfo,
  planReplicaBalance,
} from '../../src/controller/index.js';
import { brokerInfo, registerBroker, topicId } from './fixtures.js';

function partition(groupId: number, replicas: number[], placedByOperator = false): PartitionInfo {
  return {
    topicId: topicId(1),
    topic: 't',
    partition: groupId - 1,
    groupId,
    replicas,
    learners: [],
    preferredLeader: replicas[0]!,
    leader: replicas[0]!,
    leaderEpoch: 1,
    targetReplicas: [],
    placedByOperator,
  };
}

/**
 * Broker 2 holds five replicas, broker 3 three (share four): an operator moved partitions 1, 2
 * and 5 onto brokers 1 and 2. Every replica broker 2 could give broker 3 is one of those.
 */
function handPlaced(operatorPartitions: readonly number[]): PartitionInfo[] {
  const placed = (groupId: number) => operatorPartitions.includes(groupId);
  return [
    partition(1, [1, 2], placed(1)),
    partition(2, [1, 2], placed(2)),
    partition(3, [1, 3], placed(3)),
    partition(4, [2, 3], placed(4)),
    partition(5, [1, 2], placed(5)),
    partition(6, [2, 3], placed(6)),
  ];
}

const brokers = [brokerInfo(1), brokerInfo(2), brokerInfo(3)];

test('replica balancing does not move a partition an operator placed by hand', (t) => {
  t.deepEqual(
    planReplicaBalance({
      brokers,
      partitions: handPlaced([1, 2, 5]),
      imbalancePercent: 10,
      maxMovesInFlight: 8,
    }),
    [],
  );
});

test('the same placement made by the controller is evened out: the one partition not placed by hand moves', (t) => {
  t.deepEqual(
    planReplicaBalance({
      brokers,
      partitions: handPlaced([1, 2]),
      imbalancePercent: 10,
      maxMovesInFlight: 8,
    }),
    [{ groupId: 5, target: [1, 3] }],
  );
});

function applyOk(t: ExecutionContext, state: ControllerState, record: ControllerRecord): void {
  const result = state.apply(record);
  t.true(result.ok, result.ok ? '' : `${record.type}: ${result.message}`);
}

test('placement records set placedByOperator from byOperator; a repair clears it; snapshots keep it', (t) => {
  const state = ControllerState.empty();
  for (let id = 1; id <= 4; id++) applyOk(t, state, registerBroker(id));
  applyOk(t, state, {
    type: 'create-topic',
    name: 'placed',
    topicId: topicId(1),
    configs: {},
    replicationFactor: 2,
    partitions: [{ groupId: 1, replicas: [1, 2] }],
    byOperator: true,
  });
  applyOk(t, state, {
    type: 'create-topic',
    name: 'assigned',
    topicId: topicId(2),
    configs: {},
    replicationFactor: 2,
    partitions: [{ groupId: 2, replicas: [2, 3] }],
  });
  applyOk(t, state, {
    type: 'create-partitions',
    topicId: topicId(2),
    partitions: [{ groupId: 3, replicas: [3, 4] }],
    byOperator: true,
  });
  const flags = () => [1, 2, 3].map((groupId) => state.partitionByGroup(groupId)!.placedByOperator);
  t.deepEqual(flags(), [true, false, true]);
  // An operator's reassignment (the Kafka API) pins the partition; a repair's target unpins it.
  applyOk(t, state, { type: 'partition-reassignment', groupId: 2, target: [2, 4], byOperator: true });
  t.deepEqual(flags(), [true, true, true]);
  applyOk(t, state, { type: 'partition-replicas', groupId: 2, replicas: [2, 4], learners: [] });
  t.true(state.partitionByGroup(2)!.placedByOperator, 'the move completing keeps it');
  applyOk(t, state, { type: 'partition-reassignment', groupId: 1, target: [1, 3] });
  t.deepEqual(flags(), [false, true, true]);
  const restored = ControllerState.decodeSnapshot(state.encodeSnapshot());
  t.deepEqual(
    [1, 2, 3].map((groupId) => restored.partitionByGroup(groupId)!.placedByOperator),
    flags(),
  );
  t.deepEqual(restored.encodeSnapshot(), state.encodeSnapshot());
});

test('byOperator is written only when true and needs record format 3; a format 2 snapshot reads as not placed by hand', (t) => {
  const pinned: ControllerRecord = {
    type: 'partition-reassignment',
    groupId: 1,
    target: [1],
    byOperator: true,
  };
  t.deepEqual(decodeRecord(encodeRecord(pinned)), pinned);
  const plain = encodeRecord({ type: 'partition-reassignment', groupId: 1, target: [1], byOperator: false });
  t.deepEqual(plain, encodeRecord({ type: 'partition-reassignment', groupId: 1, target: [1] }));
  const json = new TextEncoder().encode(JSON.stringify(pinned));
  t.throws(() => decodeRecord(new Uint8Array([2, ...json])), {
    message: /byOperator: needs format version 3/,
  });
  t.throws(
    () =>
      decodeRecord(
        encodeRecordBytes({ type: 'partition-reassignment', groupId: 1, target: [1], byOperator: 'yes' }),
      ),
    { message: /byOperator: must be a boolean/ },
  );
  // A snapshot written before the flag existed (format 2): every partition reads as false.
  const state = ControllerState.empty();
  for (let id = 1; id <= 2; id++) applyOk(t, state, registerBroker(id));
  applyOk(t, state, {
    type: 'create-topic',
    name: 'old',
    topicId: topicId(1),
    configs: {},
    replicationFactor: 2,
    partitions: [{ groupId: 1, replicas: [1, 2] }],
  });
  const snapshot = JSON.parse(new TextDecoder().decode(state.encodeSnapshot().subarray(1)));
  for (const topic of snapshot.topics) for (const item of topic.partitions) delete item.placedByOperator;
  const version2 = new Uint8Array([2, ...new TextEncoder().encode(JSON.stringify(snapshot))]);
  const restored = ControllerState.decodeSnapshot(version2);
  t.false(restored.partitionByGroup(1)!.placedByOperator);
  t.deepEqual(restored.encodeSnapshot(), state.encodeSnapshot());
});

/** A current-format record from any JSON value (the codec's checks are what is tested). */
function encodeRecordBytes(value: unknown): Uint8Array {
  return new Uint8Array([3, ...new TextEncoder().encode(JSON.stringify(value))]);
}
