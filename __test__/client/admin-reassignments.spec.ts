/**
 * Admin.alterPartitionReassignments, listPartitionReassignments and electLeaders against one
 * in-process broker (the refusals and the empty answers; moves themselves are in
 * __test__/cluster-processes/sdk-reassign.spec.ts), and their argument checks.
 */
import test from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { KafkaProtocolError } from '../../src/client/errors.js';
import { bootstrap, startBroker } from '../broker/helpers.js';

test('one broker: no moves listed, a move to an unknown broker is refused with its reason, elections are not needed', async (t) => {
  const broker = await startBroker(t);
  const client = new Client({ brokers: [bootstrap(broker)], clientId: 'admin-moves', timeoutMs: 10_000 });
  t.teardown(() => client.close());
  const admin = new Admin(client);
  await admin.createTopic({ name: 'orders', partitions: 2 });

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

// biome-ignore lint/suspicious/noExplicitAny: the point is calling without the types.
const untyped = (value: unknown): any => value;

test('wrong reassignment and election arguments throw a TypeError naming the field', async (t) => {
  const client = new Client({ brokers: ['127.0.0.1:1'], timeoutMs: 1_000 });
  t.teardown(() => client.close());
  const admin = new Admin(client);
  const cases: Array<[() => Promise<unknown>, RegExp]> = [
    [
      () => admin.alterPartitionReassignments(untyped({ reassignments: [] })),
      /admin\.alterPartitionReassignments\(request\)\.reassignments must be a non-empty array/,
    ],
    [
      () =>
        admin.alterPartitionReassignments(
          untyped({ reassignments: [{ topic: 'orders', partition: 0, replicas: [] }] }),
        ),
      /reassignments\[0\]\.replicas must be a non-empty array/,
    ],
    [
      () =>
        admin.alterPartitionReassignments(
          untyped({ reassignments: [{ topic: 'orders', partition: 0, replicas: [1, -2] }] }),
        ),
      /reassignments\[0\]\.replicas\[1\] must be a broker id/,
    ],
    [
      () =>
        admin.alterPartitionReassignments(
          untyped({ reassignments: [{ topic: 'orders', partition: 0, replicas: [1, 2, 1] }] }),
        ),
      /reassignments\[0\]\.replicas names broker 1 more than once/,
    ],
    [
      () =>
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
      () => admin.listPartitionReassignments(untyped({ partitions: [0] })),
      /admin\.listPartitionReassignments\(request\)\.partitions needs .*\.topic/,
    ],
    [
      () => admin.electLeaders(untyped({ topic: 'orders', partitions: [0, 0] })),
      /admin\.electLeaders\(request\)\.partitions names partition 0 more than once/,
    ],
    [
      () => admin.electLeaders(untyped({ topic: 7 })),
      /admin\.electLeaders\(request\)\.topic must be a non-empty string/,
    ],
  ];
  for (const [call, message] of cases) {
    const error = await t.throwsAsync(call, { instanceOf: TypeError });
    t.regex(error.message, message);
  }
});
