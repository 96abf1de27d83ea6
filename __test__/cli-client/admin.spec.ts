/**
 * `goqueue topic alter-config`, `topic delete-records`, `cluster log-dirs`, `cluster
 * reassignments` and `cluster elect-leaders` against an in-process broker (the moves
 * themselves: __test__/cluster-processes/sdk-reassign.spec.ts).
 */
import test, { type ExecutionContext } from 'ava';
import type { Broker } from '../../src/broker/broker.js';
import type { Admin } from '../../src/client/admin.js';
import { bootstrap } from '../broker/helpers.js';
import { brokerWithTopic } from '../client/admin-helpers.js';
import { run } from './run.js';

const at = (broker: Broker) => ['--bootstrap', bootstrap(broker)];

const setup = (t: ExecutionContext) =>
  brokerWithTopic(t, { name: 'events', partitions: 2, messagesPerPartition: 5 });

async function overrides(admin: Admin): Promise<Record<string, string | null>> {
  const entries = await admin.describeConfigs({ type: 'topic', name: 'events' });
  return Object.fromEntries(
    entries.filter((entry) => !entry.isDefault).map((entry) => [entry.name, entry.value]),
  );
}

test('topic alter-config sets and deletes keys, --dry-run changes nothing, and a bad value is one error line', async (t) => {
  const { broker, admin } = await setup(t);
  const set = await run([
    'topic',
    'alter-config',
    'events',
    '--set',
    'retention.ms=60000',
    'max.message.bytes=200000',
    ...at(broker),
  ]);
  t.is(set.stdout, 'altered topic events: set retention.ms=60000, set max.message.bytes=200000\n');
  t.deepEqual(await overrides(admin), { 'retention.ms': '60000', 'max.message.bytes': '200000' });

  const dry = await run([
    'topic',
    'alter-config',
    'events',
    '--delete',
    'retention.ms',
    '--dry-run',
    ...at(broker),
  ]);
  t.regex(dry.stdout, /^dry run: the broker accepts delete retention\.ms on topic events/);
  t.is((await overrides(admin))['retention.ms'], '60000');

  await run(['topic', 'alter-config', 'events', '--delete', 'retention.ms', ...at(broker)]);
  t.deepEqual(await overrides(admin), { 'max.message.bytes': '200000' });

  await t.throwsAsync(run(['topic', 'alter-config', 'events', '--set', 'retention.ms=soon', ...at(broker)]), {
    message: /INVALID_CONFIG \[40\] \(topic "events"\).*retention\.ms/,
  });
  await t.throwsAsync(run(['topic', 'alter-config', 'events', ...at(broker)]), {
    message: /needs --set, --delete, --append or --subtract/,
  });
  await t.throwsAsync(run(['topic', 'alter-config', 'events', '--set', 'retention.ms', ...at(broker)]), {
    message: /--set takes key=value/,
  });
});

test('topic delete-records takes -p N:OFFSET or --offset for every partition and prints each new start', async (t) => {
  const { broker, admin } = await setup(t);
  const ends = (await admin.describeTopic('events')).partitions.map((p) => p.endOffset);
  const one = await run(['topic', 'delete-records', 'events', '-p', `0:${ends[0]! - 2}`, ...at(broker)]);
  t.regex(one.stdout, new RegExp(`^PARTITION\\s+START\\n0\\s+${ends[0]! - 2}\\n$`));
  // The deletion took an offset of its own (a Raft entry): read the ends again.
  const endsNow = (await admin.describeTopic('events')).partitions.map((p) => p.endOffset);
  const every = await run(['topic', 'delete-records', 'events', '--offset', 'end', '--json', ...at(broker)]);
  t.deepEqual(JSON.parse(every.stdout), [
    { partition: 0, lowWatermark: endsNow[0] },
    { partition: 1, lowWatermark: endsNow[1] },
  ]);
  t.deepEqual(
    (await admin.describeTopic('events')).partitions.map((p) => p.startOffset),
    endsNow,
  );
  await t.throwsAsync(run(['topic', 'delete-records', 'events', '-p', '0', ...at(broker)]), {
    message: /--partition 0 needs an offset/,
  });
  await t.throwsAsync(run(['topic', 'delete-records', 'events', '-p', '1:999999', ...at(broker)]), {
    message: /OFFSET_OUT_OF_RANGE \[1\] \(topic "events" partition 1\)/,
  });
});

test('cluster log-dirs, reassignments and elect-leaders print tables and JSON on one broker', async (t) => {
  const { broker } = await setup(t);
  const dirs = await run(['cluster', 'log-dirs', ...at(broker)]);
  t.regex(dirs.stdout, /^BROKER\s+DIR\s+TOPIC\s+PARTITION\s+BYTES\s+LAG\n/);
  t.regex(dirs.stdout, new RegExp(`\\n${broker.brokerId}\\s+\\S+\\s+events\\s+0\\s+[1-9]\\d*\\s+0\\n`));
  const json = JSON.parse(
    (await run(['cluster', 'log-dirs', '--broker', String(broker.brokerId), '--json', ...at(broker)])).stdout,
  );
  t.is(json[0].brokerId, broker.brokerId);
  t.true(json[0].replicas.some((replica: { topic: string }) => replica.topic === 'events'));

  t.is((await run(['cluster', 'reassignments', ...at(broker)])).stdout, 'no reassignments in progress\n');
  t.deepEqual(
    JSON.parse((await run(['cluster', 'reassignments', 'events', '--json', ...at(broker)])).stdout),
    [],
  );

  t.is(
    (await run(['cluster', 'elect-leaders', ...at(broker)])).stdout,
    'every partition is led by its preferred replica\n',
  );
  const elected = await run(['cluster', 'elect-leaders', 'events', '-p', '1', ...at(broker)]);
  t.regex(elected.stdout, /TOPIC\s+PARTITION\s+RESULT\nevents\s+1\s+ELECTION_NOT_NEEDED\n/);

  await t.throwsAsync(run(['cluster', 'reassign', 'events', '0', ...at(broker)]), {
    message: /reassign needs <brokers> \(or --cancel\)/,
  });
  await t.throwsAsync(run(['cluster', 'reassign', 'events', '0', '1,x', ...at(broker)]), {
    message: /comma-separated list of broker ids/,
  });
  await t.throwsAsync(run(['cluster', 'reassign', 'events', '0', `${broker.brokerId},99`, ...at(broker)]), {
    message: /INVALID_REPLICA_ASSIGNMENT \[39\].*broker 99 is not registered/,
  });
  await t.throwsAsync(run(['cluster', 'reassign', 'events', '0', '--cancel', ...at(broker)]), {
    message: /NO_REASSIGNMENT_IN_PROGRESS/,
  });
});
