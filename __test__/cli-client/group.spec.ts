import test from 'ava';
import type { Broker } from '../../src/broker/broker.js';
import { ConsumerGroup } from '../../src/client/consumer-group.js';
import { bootstrap, startBroker } from '../broker/helpers.js';
import { clientFor, createTopic, produceNumbered, QUICK } from '../client/consumer-group-helpers.js';
import { run } from './run.js';

const at = (broker: Broker) => ['--bootstrap', bootstrap(broker)];

/** Reads `count` messages as a member of `groupId`, then leaves (committing them). */
async function consumeAndLeave(
  broker: Broker,
  t: Parameters<typeof clientFor>[0],
  groupId: string,
  count: number,
) {
  const group = new ConsumerGroup(clientFor(t, bootstrap(broker)), { ...QUICK, groupId });
  group.subscribe('orders');
  let read = 0;
  for await (const message of group) {
    group.markProcessed(message);
    if (++read === count) break;
  }
  await group.close();
}

test('group list and describe show a group, its members and per-partition committed offset, end and lag', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'orders', 2);
  await produceNumbered(client, 'orders', 2, 'o', 10);
  await consumeAndLeave(broker, t, 'billing', 10);
  await produceNumbered(client, 'orders', 2, 'late', 4);

  t.regex((await run(['group', 'list', ...at(broker)])).stdout, /GROUP\s+PROTOCOL TYPE\nbilling\s+consumer/);
  const described = JSON.parse((await run(['group', 'describe', 'billing', '--json', ...at(broker)])).stdout);
  t.is(described.groupId, 'billing');
  t.is(described.members.length, 0);
  t.deepEqual(
    described.offsets.map((o: { partition: number; lag: number }) => [o.partition, o.lag]),
    [
      [0, 2],
      [1, 2],
    ],
  );
  for (const offset of described.offsets) t.is(offset.endOffset - offset.committedOffset, 2);

  // A running member shows with its partitions.
  const member = new ConsumerGroup(clientFor(t, bootstrap(broker)), { ...QUICK, groupId: 'billing' });
  t.teardown(() => member.close());
  member.subscribe('orders');
  await member.start();
  const text = (await run(['group', 'describe', 'billing', ...at(broker)])).stdout;
  t.regex(text, /group billing: Stable, 1 member\(s\), assignor range/);
  t.regex(text, /orders:0,1/);
  t.regex(text, /TOPIC\s+PARTITION\s+COMMITTED\s+END\s+LAG\s+OWNER/);
});

test('group reset-offsets prints a dry run, commits with --execute, and refuses while the group has members', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'orders', 2);
  await produceNumbered(client, 'orders', 2, 'o', 10);
  await consumeAndLeave(broker, t, 'replay', 10);
  const reset = (...flags: string[]) =>
    run(['group', 'reset-offsets', 'replay', '--topic', 'orders', ...flags, ...at(broker)]);
  const describe = async () =>
    JSON.parse((await run(['group', 'describe', 'replay', '--json', ...at(broker)])).stdout).offsets.map(
      (o: { committedOffset: number }) => o.committedOffset,
    );
  const before = await describe();

  const dry = await reset('--shift-by', '-2');
  t.regex(dry.stderr, /dry run/);
  t.deepEqual(await describe(), before);

  await reset('--shift-by', '-2', '--execute');
  t.deepEqual(
    await describe(),
    before.map((offset: number) => offset - 2),
  );
  await reset('--partition', '1', '--to-earliest', '--execute');
  const afterEarliest = await describe();
  t.is(afterEarliest[0], before[0] - 2);
  t.true(afterEarliest[1] < before[1] - 2);

  // The next member of the group reads what the reset made unread again.
  const member = new ConsumerGroup(clientFor(t, bootstrap(broker)), { ...QUICK, groupId: 'replay' });
  t.teardown(() => member.close());
  member.subscribe('orders');
  await member.start();
  await t.throwsAsync(reset('--to-latest', '--execute'), { message: /has running members; stop them/ });
  await t.throwsAsync(reset(), {
    message: /exactly one of --to-earliest/,
  });
});

test('group delete removes a group without members and its offsets; refuses one with members; an unknown group is GROUP_ID_NOT_FOUND', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'orders', 2);
  await produceNumbered(client, 'orders', 2, 'o', 4);
  await consumeAndLeave(broker, t, 'old', 4);
  t.regex((await run(['group', 'list', ...at(broker)])).stdout, /\bold\b/);

  const member = new ConsumerGroup(clientFor(t, bootstrap(broker)), { ...QUICK, groupId: 'busy' });
  t.teardown(() => member.close());
  member.subscribe('orders');
  await member.start();
  await t.throwsAsync(run(['group', 'delete', 'busy', ...at(broker)]), { message: /NON_EMPTY_GROUP/ });

  t.regex((await run(['group', 'delete', 'old', ...at(broker)])).stdout, /deleted group old/);
  t.notRegex((await run(['group', 'list', ...at(broker)])).stdout, /\bold\b/);
  await t.throwsAsync(run(['group', 'describe', 'old', ...at(broker)]), { message: /GROUP_ID_NOT_FOUND/ });
  await t.throwsAsync(run(['group', 'delete', 'never-existed', ...at(broker)]), {
    message: /GROUP_ID_NOT_FOUND/,
  });
});

test('consume --group reads as a group member and commits: a second run continues where the first stopped', async (t) => {
  const broker = await startBroker(t);
  const client = clientFor(t, bootstrap(broker));
  await createTopic(client, 'orders', 1);
  await produceNumbered(client, 'orders', 1, 'o', 6);
  const args = ['consume', 'orders', '--group', 'readers', '--from-beginning', ...at(broker)];
  const first = await run([...args, '--max-messages', '4']);
  t.deepEqual(first.stdout.trim().split('\n'), ['o-0', 'o-1', 'o-2', 'o-3']);
  const second = await run([...args, '--max-messages', '2']);
  t.deepEqual(second.stdout.trim().split('\n'), ['o-4', 'o-5']);
  await t.throwsAsync(run([...args, '--partition', '0']), { message: /no --partition or --offset/ });
});
