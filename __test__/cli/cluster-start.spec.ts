import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { CLUSTER_IDENTITY_FILE, checkClusterIdentity } from '../../src/broker/cluster-identity.js';
import { runCli } from './helpers.js';

const directory = mkdtempSync(join(tmpdir(), 'goqueue-cli-cluster-'));
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

const members = '1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003';

/** The single line a user error prints: no stack trace, nothing else. */
function oneLine(t: import('ava').ExecutionContext, stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  t.is(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  t.notRegex(stderr, /^\s+at /m, 'no stack trace for a user error');
  return lines[0]!;
}

/** Bad --initial-cluster values: exit 2 (a configuration error) with the problem named. */
const badLists: Array<{ title: string; args: string[]; message: RegExp }> = [
  {
    title: 'a malformed entry',
    args: ['--initial-cluster', '1=127.0.0.1:7001,2=127.0.0.1'],
    message:
      /^goqueue: initial_cluster: entry "2=127\.0\.0\.1": "127\.0\.0\.1" is not an address .*\(from flag --initial-cluster\)$/,
  },
  {
    title: 'a list without this broker',
    args: ['--broker-id', 'broker4', '--initial-cluster', members],
    message:
      /^goqueue: initial_cluster: does not list this broker \(broker_id 4\): add "4=<its raft host:port>"/,
  },
  {
    title: 'a duplicate id',
    args: ['--initial-cluster', '1=127.0.0.1:7001,broker1=127.0.0.1:7002'],
    message:
      /^goqueue: initial_cluster: broker 1 is listed twice \("1=127\.0\.0\.1:7001" and "broker1=127\.0\.0\.1:7002"\)/,
  },
  {
    title: 'a duplicate address',
    args: ['--initial-cluster', '1=127.0.0.1:7001,2=127.0.0.1:7001'],
    message:
      /^goqueue: initial_cluster: "1=127\.0\.0\.1:7001" and "2=127\.0\.0\.1:7001" give the same Raft address/,
  },
  {
    title: "a raft address other than this broker's entry",
    args: ['--raft-addr', '127.0.0.1:7009', '--initial-cluster', members],
    message:
      /^goqueue: raft_addr: 127\.0\.0\.1:7009 differs from initial_cluster's address for broker 1 \(127\.0\.0\.1:7001\)/,
  },
  {
    title: 'a join together with a member list',
    args: ['--initial-cluster', members, '--join', '127.0.0.1:7002'],
    message: /^goqueue: (join|initial_cluster): join and initial_cluster exclude each other/,
  },
  {
    title: 'a broker id that is neither a number nor brokerN',
    args: ['-broker-id=leader'],
    message: /^goqueue: broker_id: "leader" is not a broker id .*\(from flag --broker-id\)$/,
  },
];

for (const [i, { title, args, message }] of badLists.entries()) {
  test(`goqueue broker with ${title} exits 2 naming the problem`, async (t) => {
    const dataDir = join(directory, `bad-list-${i}`);
    const result = await runCli(['broker', '--data-dir', dataDir, '--client-addr', '127.0.0.1:0', ...args]);
    t.is(result.code, 2);
    t.regex(oneLine(t, result.stderr), message);
  });
}

test('a data directory of another cluster exits 1 naming both clusters; the directory is untouched', async (t) => {
  const dataDir = join(directory, 'other-cluster');
  const formed = await checkClusterIdentity(dataDir, {
    brokerId: 1,
    initialCluster: '1=127.0.0.1:8001,2=127.0.0.1:8002,3=127.0.0.1:8003',
  });
  const before = readFileSync(join(dataDir, CLUSTER_IDENTITY_FILE), 'utf8');
  const result = await runCli([
    'broker',
    '--data-dir',
    dataDir,
    '--client-addr',
    '127.0.0.1:0',
    '--initial-cluster',
    members,
  ]);
  t.is(result.code, 1);
  const line = oneLine(t, result.stderr);
  t.true(
    line.startsWith(
      `goqueue: cannot start the broker: data directory ${dataDir} belongs to cluster ${formed.clusterId} ` +
        '(formed with initial_cluster 1=127.0.0.1:8001,2=127.0.0.1:8002,3=127.0.0.1:8003',
    ),
    line,
  );
  t.regex(
    line,
    /but this broker was started for cluster [0-9a-f-]{36} \(formed with initial_cluster 1=127\.0\.0\.1:7001,/,
  );
  t.regex(line, /use another --data-dir or remove it/);
  t.is(readFileSync(join(dataDir, CLUSTER_IDENTITY_FILE), 'utf8'), before);
});

test('a data directory of another broker id exits 1 saying which id it belongs to', async (t) => {
  const dataDir = join(directory, 'other-broker');
  await checkClusterIdentity(dataDir, { brokerId: 1, initialCluster: members });
  const result = await runCli([
    'broker',
    '-data-dir',
    dataDir,
    '-broker-id=broker2',
    '-client-addr=127.0.0.1:0',
    `-initial-cluster=${members}`,
  ]);
  t.is(result.code, 1);
  t.regex(
    oneLine(t, result.stderr),
    /^goqueue: cannot start the broker: data directory .* as broker 1, but this broker has broker_id 2: start it with broker_id 1, or use another --data-dir or remove it$/,
  );
});

test('a joining broker on a used data directory is checked for its broker id', async (t) => {
  const dataDir = join(directory, 'joiner');
  await checkClusterIdentity(dataDir, { brokerId: 4, clusterId: 'a-cluster' });
  const result = await runCli([
    'broker',
    '--data-dir',
    dataDir,
    '--broker-id',
    '5',
    '--client-addr',
    '127.0.0.1:0',
    '--join',
    '127.0.0.1:7001',
  ]);
  t.is(result.code, 1);
  t.regex(
    oneLine(t, result.stderr),
    /belongs to cluster a-cluster .* as broker 4, but this broker has broker_id 5/,
  );
});

test('an unreadable cluster.json exits 1 naming the file', async (t) => {
  const dataDir = join(directory, 'corrupt');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, CLUSTER_IDENTITY_FILE), '{"version": 1,');
  const result = await runCli(['broker', '--data-dir', dataDir, '--client-addr', '127.0.0.1:0']);
  t.is(result.code, 1);
  t.regex(
    oneLine(t, result.stderr),
    /^goqueue: cannot start the broker: .*cluster\.json is not a goqueue cluster identity file \(not JSON: /,
  );
});
