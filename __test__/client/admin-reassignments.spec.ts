/**
 * Admin.alterPartitionReassignments, listPartitionReassignments and electLeaders against one
 * in-process broker (the refusals and the empty answers; moves themselves are in
 * __test__/cluster-processes/sdk-reassign.spec.ts), and their argument checks.
 */
import test from 'ava';
import { KafkaProtocolError } from '../../src/client/errors.js';
import { assertTypeErrors, brokerWithTopic, untyped } from './admin-helpers.js';

test('one broker: no moves listed, a move to an unknown broker is refused with its reason, elections are not needed', async (t) => {
  const { broker, admin } = await brokerWithTopic(t, { name: 'orders', partitions: 2 });

  t.deepEqual(await admin.listPartitionReassignments(), []);
  t.deepEqual(await admin.listPartitionReassignments({ topic: 'orders' }), []);

  const refused = await t.throwsAsync(
    admin.alterPartitionReassignments({
      reassignments: [{ topic: 'orders', partition: 1, replicas: [broker.brokerId, 99] }],
    }),
    { instanceOf: KafkaProtocolError },
  );
  t.is(refused.code, 39);
  t.is(refused.errorName, 'INVALID_REPLICA_ASSIGNMENT');
  t.is(refused.partition, 1);
  t.regex(refused.message, /broker 99 is not registered/);

  const noMove = await t.throwsAsync(
    admin.alterPartitionReassignments({ reassignments: [{ topic: 'orders', partition: 0, replicas: null }] }),
    { instanceOf: KafkaProtocolError },
  );
  t.is(noMove.errorName, 'NO_REASSIGNMENT_IN_PROGRESS');

  const elected = await admin.electLeaders({ topic: 'orders' });
  t.deepEqual(
    elected.map((result) => [result.topic, result.partition, result.error?.errorName]),
    [
      ['orders', 0, 'ELECTION_NOT_NEEDED'],
      ['orders', 1, 'ELECTION_NOT_NEEDED'],
    ],
  );
  // Every partition: those already led by their preferred replica are left out.
  t.deepEqual(await admin.electLeaders(), []);
  const unknown = await admin.electLeaders({ topic: 'orders', partitions: [5] });
  t.is(unknown[0]?.error?.code, 3);
  await t.throwsAsync(admin.electLeaders({ topic: 'missing' }), {
    instanceOf: KafkaProtocolError,
    message: /missing/,
  });
});

test('wrong reassignment and election arguments throw a TypeError naming the field', async (t) => {
  await assertTypeErrors(t, [
    [
      (admin) => admin.alterPartitionReassignments(untyped({ reassignments: [] })),
      /admin\.alterPartitionReassignments\(request\)\.reassignments must be a non-empty array/,
    ],
    [
      (admin) =>
        admin.alterPartitionReassignments(
          untyped({ reassignments: [{ topic: 'orders', partition: 0, replicas: [] }] }),
        ),
      /reassignments\[0\]\.replicas must be a non-empty array/,
    ],
    [
      (admin) =>
        admin.alterPartitionReassignments(
          untyped({ reassignments: [{ topic: 'orders', partition: 0, replicas: [1, -2] }] }),
        ),
      /reassignments\[0\]\.replicas\[1\] must be a broker id/,
    ],
    [
      (admin) =>
        admin.alterPartitionReassignments(
          untyped({ reassignments: [{ topic: 'orders', partition: 0, replicas: [1, 2, 1] }] }),
        ),
      /reassignments\[0\]\.replicas names broker 1 more than once/,
    ],
    [
      (admin) =>
        admin.alterPartitionReassignments(
          untyped({
            reassignments: [
              { topic: 'orders', partition: 0, replicas: [1] },
              { topic: 'orders', partition: 0, replicas: null },
            ],
          }),
        ),
      /reassignments names partition orders\/0 more than once/,
    ],
    [
      (admin) => admin.listPartitionReassignments(untyped({ partitions: [0] })),
      /admin\.listPartitionReassignments\(request\)\.partitions needs .*\.topic/,
    ],
    [
      (admin) => admin.electLeaders(untyped({ topic: 'orders', partitions: [0, 0] })),
      /admin\.electLeaders\(request\)\.partitions names partition 0 more than once/,
    ],
    [
      (admin) => admin.electLeaders(untyped({ topic: 7 })),
      /admin\.electLeaders\(request\)\.topic must be a non-empty string/,
    ],
  ]);
});
