/**
 * Controller snapshots: a state restored from its snapshot is the same state (same bytes, same
 * answers), applying the same records on both sides keeps them identical, and bad snapshot bytes
 * throw only ControllerCodecError.
 */
import test, { type ExecutionContext } from 'ava';
import {
  ControllerCodecError,
  type ControllerRecord,
  ControllerState,
  SNAPSHOT_FORMAT_VERSION,
} from '../../src/controller/index.js';
import { Prng } from '../../src/lib/prng.js';
import { registerBroker, topicId } from './fixtures.js';

const FIRST_HALF: ControllerRecord[] = [
  { type: 'init-cluster', clusterId: 'cluster-1' },
  registerBroker(1, { rack: 'r1' }),
  registerBroker(2, { rack: 'r2' }),
  registerBroker(3, { rack: 'r3' }),
  {
    type: 'create-topic',
    name: 'orders',
    topicId: topicId(1),
    // Odd but legal names: `__proto__` must stay a plain key; integer-like keys sort differently
    // in an object than in a list.
    configs: Object.fromEntries([
      ['retention.ms', '1000'],
      ['__proto__', 'odd'],
      ['10', 'a'],
      ['9', 'b'],
    ]),
    replicationFactor: 2,
    partitions: [
      { groupId: 1, replicas: [1, 2] },
      { groupId: 2, replicas: [2, 3] },
    ],
  },
  {
    type: 'create-topic',
    name: 'gone',
    topicId: topicId(2),
    configs: {},
    replicationFactor: 1,
    partitions: [{ groupId: 3, replicas: [3] }],
  },
  { type: 'delete-topic', topicId: topicId(2) },
  { type: 'fence-broker', brokerId: 3 },
  { type: 'alter-configs', resource: 'broker', name: '', configs: { 'log.retention.ms': '7' } },
  { type: 'alter-configs', resource: 'broker', name: '2', configs: { 'log.retention.ms': '8' } },
  { type: 'producer-id-block', brokerId: 1, firstProducerId: 0, size: 1000 },
  { type: 'partition-leaders', leaders: [{ groupId: 1, leader: 2, leaderEpoch: 3 }] },
];

const SECOND_HALF: ControllerRecord[] = [
  { type: 'partition-replicas', groupId: 2, replicas: [2, 1], learners: [3] },
  { type: 'preferred-leader', groupId: 1, preferred: 2 },
  { type: 'create-partitions', topicId: topicId(1), partitions: [{ groupId: 4, replicas: [3, 1] }] },
  { type: 'unfence-broker', brokerId: 3 },
  { type: 'partition-leaders', leaders: [{ groupId: 1, leader: 1, leaderEpoch: 2 }] },
  { type: 'alter-configs', resource: 'topic', name: 'orders', configs: { 'retention.ms': null } },
  { type: 'producer-id-block', brokerId: 2, firstProducerId: 1000, size: 1000 },
];

function applyAll(t: ExecutionContext, state: ControllerState, records: ControllerRecord[]): void {
  for (const record of records) t.deepEqual(state.apply(record), { ok: true }, JSON.stringify(record));
}

test('a restored snapshot is the same state: same bytes and the same answers to every query', (t) => {
  const state = ControllerState.empty();
  applyAll(t, state, FIRST_HALF);
  const bytes = state.encodeSnapshot();
  t.is(bytes[0], SNAPSHOT_FORMAT_VERSION);
  const restored = ControllerState.decodeSnapshot(bytes);
  t.deepEqual(restored.encodeSnapshot(), bytes);
  t.is(restored.clusterId, 'cluster-1');
  t.deepEqual(restored.brokers(), state.brokers());
  t.deepEqual(restored.liveBrokers(), state.liveBrokers());
  t.deepEqual(restored.topics(), state.topics());
  t.deepEqual(restored.topicByName('orders'), state.topicByName('orders'));
  t.deepEqual(restored.partitionByGroup(2), state.partitionByGroup(2));
  t.deepEqual(restored.replicasOn(2), state.replicasOn(2));
  t.deepEqual(restored.brokerConfigs(), state.brokerConfigs());
  t.deepEqual(restored.brokerConfigs(2), { 'log.retention.ms': '8' });
  t.true(restored.isDeletedTopic(topicId(2)));
  t.is(restored.nextGroupId, 4);
  t.is(restored.nextProducerId, 1000);
  t.is(Object.hasOwn(restored.topicByName('orders')!.configs, '__proto__'), true);
});

test('the same records applied after a snapshot on one side and straight through on the other give identical snapshot bytes', (t) => {
  const straight = ControllerState.empty();
  applyAll(t, straight, FIRST_HALF);
  const restored = ControllerState.decodeSnapshot(straight.encodeSnapshot());
  applyAll(t, straight, SECOND_HALF);
  applyAll(t, restored, SECOND_HALF);
  t.deepEqual(restored.encodeSnapshot(), straight.encodeSnapshot());
  t.deepEqual(restored.topics(), straight.topics());
});

test('an empty state round-trips', (t) => {
  const empty = ControllerState.empty();
  const restored = ControllerState.decodeSnapshot(empty.encodeSnapshot());
  t.deepEqual(restored.encodeSnapshot(), empty.encodeSnapshot());
  t.is(restored.clusterId, null);
  t.is(restored.nextGroupId, 1);
});

/** A parsed snapshot, loosely typed on purpose: the cases below break it in ways no type allows. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type LooseSnapshot = Record<string, any>;

/** A valid snapshot as a mutable object, to break one part of it. */
function snapshotObject(): LooseSnapshot {
  const state = ControllerState.empty();
  for (const record of [...FIRST_HALF, ...SECOND_HALF]) state.apply(record);
  return JSON.parse(new TextDecoder().decode(state.encodeSnapshot().subarray(1)));
}

function snapshotBytes(value: unknown, version = SNAPSHOT_FORMAT_VERSION): Uint8Array {
  return new Uint8Array([version, ...new TextEncoder().encode(JSON.stringify(value))]);
}

const broken: Array<{
  title: string;
  change: (snapshot: LooseSnapshot) => void;
  field: string | RegExp;
}> = [
  { title: 'a missing field', change: (s) => delete s.nextGroupId, field: 'nextGroupId' },
  { title: 'an unknown field', change: (s) => (s.extra = 1), field: 'extra' },
  {
    title: 'a broker listed twice',
    change: (s) => s.brokers.push(s.brokers[0]),
    field: 'brokers[3].brokerId',
  },
  {
    title: 'a non-boolean fenced flag',
    change: (s) => (s.brokers[0].fenced = 0),
    field: 'brokers[0].fenced',
  },
  {
    title: 'a partition on an unknown broker',
    change: (s) => (s.topics[0].partitions[0].replicas = [1, 9]),
    field: /unknown broker 9/,
  },
  {
    title: 'a group id used twice',
    change: (s) => (s.topics[0].partitions[1].groupId = 1),
    field: 'topics[0].partitions[1].groupId',
  },
  { title: 'a group id at or past nextGroupId', change: (s) => (s.nextGroupId = 2), field: /group id/ },
  {
    title: 'a preferred leader that is not a replica',
    change: (s) => (s.topics[0].partitions[0].preferredLeader = 3),
    field: /preferred leader/,
  },
  {
    title: 'a leader that is not a replica',
    change: (s) => (s.topics[0].partitions[0].leader = 3),
    field: /leader is not a replica/,
  },
  {
    title: 'a topic with no partitions',
    change: (s) => (s.topics[0].partitions = []),
    field: 'topics[0].partitions',
  },
  { title: 'an illegal topic name', change: (s) => (s.topics[0].name = 'a/b'), field: 'topics[0].name' },
  {
    title: 'a deleted id that is also live',
    change: (s) => s.deletedTopicIds.push(topicId(1)),
    field: /both live and deleted/,
  },
  {
    title: 'a repeated config name',
    change: (s) => s.clusterConfigs.push(s.clusterConfigs[0]),
    field: 'clusterConfigs[1][0]',
  },
  {
    title: 'an empty override set',
    change: (s) => (s.brokerConfigOverrides[0].configs = []),
    field: 'brokerConfigOverrides[0]',
  },
];

for (const { title, change, field } of broken) {
  test(`decodeSnapshot refuses ${title} with ControllerCodecError`, (t) => {
    const snapshot = snapshotObject();
    t.notThrows(
      () => ControllerState.decodeSnapshot(snapshotBytes(snapshot)),
      'the unbroken snapshot decodes',
    );
    change(snapshot);
    const error = t.throws<ControllerCodecError>(
      () => ControllerState.decodeSnapshot(snapshotBytes(snapshot)),
      {
        instanceOf: ControllerCodecError,
      },
    );
    if (typeof field === 'string') t.is(error?.field, field, error?.message);
    else t.regex(error?.message ?? '', field);
  });
}

test('decodeSnapshot refuses another format version and non-JSON bytes', (t) => {
  t.throws(
    () => ControllerState.decodeSnapshot(snapshotBytes(snapshotObject(), SNAPSHOT_FORMAT_VERSION + 1)),
    {
      instanceOf: ControllerCodecError,
      message: /version/,
    },
  );
  t.throws(() => ControllerState.decodeSnapshot(new Uint8Array([1, 0x7b])), {
    instanceOf: ControllerCodecError,
  });
  t.throws(() => ControllerState.decodeSnapshot(new Uint8Array(0)), { instanceOf: ControllerCodecError });
});

test('mutated snapshot bytes either restore a state with its invariants or throw ControllerCodecError', (t) => {
  const state = ControllerState.empty();
  for (const record of [...FIRST_HALF, ...SECOND_HALF]) state.apply(record);
  const original = state.encodeSnapshot();
  const prng = new Prng(99);
  let restored = 0;
  for (let round = 0; round < 3000; round++) {
    const bytes = new Uint8Array(original);
    for (let edit = prng.int(1, 2); edit > 0; edit--)
      bytes[prng.int(0, bytes.length - 1)] = prng.int(0x20, 0x7e);
    try {
      const decoded = ControllerState.decodeSnapshot(bytes);
      decoded.assertInvariants();
      t.deepEqual(
        ControllerState.decodeSnapshot(decoded.encodeSnapshot()).encodeSnapshot(),
        decoded.encodeSnapshot(),
      );
      restored++;
    } catch (error) {
      if (!(error instanceof ControllerCodecError)) {
        t.fail(`${(error as Error).name}: ${(error as Error).message}`);
        return;
      }
    }
  }
  t.true(restored > 0 && restored < 3000, `some mutations are harmless (${restored}), most are refused`);
});
