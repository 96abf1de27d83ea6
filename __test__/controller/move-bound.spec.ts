/**
 * max_replica_moves holds for moves that shrink a partition onto new brokers: such a move has
 * more replicas than its target before it starts, which is not a sign of a move under way
 * (src/controller/reassignment-requests.ts, movesToAdvance).
 */
import test from 'ava';
import { ControllerState, movesToAdvance } from '../../src/controller/index.js';
import { registerBroker, topicId } from './fixtures.js';

test('moves from [1,2,3] to [4,5] that have not started wait for a free slot', (t) => {
  const state = ControllerState.empty();
  for (let id = 1; id <= 5; id++) t.deepEqual(state.apply(registerBroker(id)), { ok: true });
  t.deepEqual(
    state.apply({
      type: 'create-topic',
      name: 't',
      topicId: topicId(1),
      configs: {},
      replicationFactor: 3,
      partitions: Array.from({ length: 6 }, (_, index) => ({ groupId: index + 1, replicas: [1, 2, 3] })),
    }),
    { ok: true },
  );
  for (let groupId = 1; groupId <= 6; groupId++)
    t.deepEqual(state.apply({ type: 'partition-reassignment', groupId, target: [4, 5] }), { ok: true });
  const partitions = () => state.topicByName('t')!.partitions;
  // Each would copy the whole partition to brokers 4 and 5: two at a time, the lowest groups.
  t.deepEqual(
    movesToAdvance(partitions(), 2).map((partition) => partition.groupId),
    [1, 2],
  );
  // Group 6 has both new brokers as voters and still holds 1, 2 and 3: it is under way.
  t.deepEqual(
    state.apply({ type: 'partition-replicas', groupId: 6, replicas: [1, 2, 3, 4, 5], learners: [] }),
    { ok: true },
  );
  t.deepEqual(
    movesToAdvance(partitions(), 2).map((partition) => partition.groupId),
    [6, 1],
  );
  // A move that only drops replicas copies nothing: it counts as under way at once (and takes
  // the slot group 1 had).
  t.deepEqual(state.apply({ type: 'partition-reassignment', groupId: 5, target: [1] }), { ok: true });
  t.deepEqual(
    movesToAdvance(partitions(), 2).map((partition) => partition.groupId),
    [5, 6],
  );
});
