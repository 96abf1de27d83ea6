import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  CLUSTER_IDENTITY_FILE,
  type ClusterIdentity,
  ClusterIdentityError,
  checkClusterIdentity,
  DEFAULT_CLUSTER_TOKEN,
  deriveClusterId,
  expectedClusterIdentity,
  readClusterIdentity,
} from '../../src/broker/cluster-identity.js';
import { loadConfig } from '../../src/config/load.js';

const root = mkdtempSync(join(tmpdir(), 'goqueue-cluster-identity-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

let directoryCount = 0;
/** A path under the test's temporary root that does not exist yet. */
function newDataDir(): string {
  return join(root, `data-${directoryCount++}`);
}

const threeMembers = '1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003';
const uuidShape = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function storedIdentity(dataDir: string): ClusterIdentity {
  return JSON.parse(readFileSync(join(dataDir, CLUSTER_IDENTITY_FILE), 'utf8')) as ClusterIdentity;
}

async function identityError(
  t: import('ava').ExecutionContext,
  check: Promise<unknown>,
): Promise<ClusterIdentityError> {
  return (await t.throwsAsync(check, { instanceOf: ClusterIdentityError })) as ClusterIdentityError;
}

test('the derived cluster id is a version-8 UUID that ignores how the member list is written', (t) => {
  const id = deriveClusterId(threeMembers, 'goqueue-cluster');
  t.regex(id, uuidShape);
  t.is(deriveClusterId('broker3=127.0.0.1:7003,broker1=127.0.0.1:7001,broker2=127.0.0.1:7002'), id);
  t.is(
    deriveClusterId([
      { brokerId: 2, raftHost: '127.0.0.1', raftPort: 7002 },
      { brokerId: 3, raftHost: '127.0.0.1', raftPort: 7003 },
      { brokerId: 1, raftHost: '127.0.0.1', raftPort: 7001 },
    ]),
    id,
  );
  t.is(deriveClusterId('1=Host-A:7001'), deriveClusterId('1=host-a:7001'), 'host names ignore case');
});

test('the derived cluster id changes with any member, address or the token', (t) => {
  const id = deriveClusterId(threeMembers, 'goqueue-cluster');
  const others = [
    deriveClusterId(threeMembers, 'staging'),
    deriveClusterId('1=127.0.0.1:7001,2=127.0.0.1:7002'),
    deriveClusterId('1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7004'),
    deriveClusterId('1=127.0.0.1:7001,2=127.0.0.1:7002,4=127.0.0.1:7003'),
  ];
  t.is(new Set([id, ...others]).size, 5);
});

test('an unused data directory is created and labelled with the derived id: every founder agrees', async (t) => {
  const founders = [1, 2, 3].map((brokerId) => ({ brokerId, dataDir: join(newDataDir(), 'nested') }));
  const checks = await Promise.all(
    founders.map(({ brokerId, dataDir }) =>
      checkClusterIdentity(dataDir, { brokerId, initialCluster: threeMembers, token: 'prod' }),
    ),
  );
  for (const [i, check] of checks.entries()) {
    t.true(check.fresh);
    t.false(check.adopted);
    t.is(check.clusterId, deriveClusterId(threeMembers, 'prod'));
    t.deepEqual(storedIdentity(founders[i]!.dataDir), {
      version: 1,
      clusterId: check.clusterId,
      brokerId: i + 1,
      initialCluster: threeMembers,
      token: 'prod',
    });
    t.deepEqual(check.identity, storedIdentity(founders[i]!.dataDir));
  }
  t.deepEqual(readdirSync(founders[0]!.dataDir), [CLUSTER_IDENTITY_FILE], 'no temporary file is left');
});

test('a restart with the same identity, however the list is spelled, passes and rewrites nothing', async (t) => {
  const dataDir = newDataDir();
  const first = await checkClusterIdentity(dataDir, { brokerId: 2, initialCluster: threeMembers });
  const before = readFileSync(join(dataDir, CLUSTER_IDENTITY_FILE), 'utf8');
  const again = await checkClusterIdentity(dataDir, {
    brokerId: 2,
    initialCluster: 'broker3=127.0.0.1:7003,broker2=127.0.0.1:7002,broker1=127.0.0.1:7001',
    token: DEFAULT_CLUSTER_TOKEN,
  });
  t.like(again, { clusterId: first.clusterId, fresh: false, adopted: false });
  t.is(readFileSync(join(dataDir, CLUSTER_IDENTITY_FILE), 'utf8'), before);
  const withoutList = await checkClusterIdentity(dataDir, { brokerId: 2 });
  t.is(withoutList.clusterId, first.clusterId, 'a start without the list takes the stored identity');
  const withId = await checkClusterIdentity(dataDir, { brokerId: 2, clusterId: first.clusterId });
  t.is(withId.clusterId, first.clusterId);
});

test("another cluster's data directory is refused, naming both clusters and what to do", async (t) => {
  const dataDir = newDataDir();
  const formed = await checkClusterIdentity(dataDir, { brokerId: 1, initialCluster: threeMembers });
  const before = readFileSync(join(dataDir, CLUSTER_IDENTITY_FILE), 'utf8');
  const otherList = '1=127.0.0.1:8001,2=127.0.0.1:8002,3=127.0.0.1:8003';
  const error = await identityError(
    t,
    checkClusterIdentity(dataDir, { brokerId: 1, initialCluster: otherList }),
  );
  t.is(error.code, 'CLUSTER_ID_MISMATCH');
  t.is(error.path, join(dataDir, CLUSTER_IDENTITY_FILE));
  t.is(
    error.message,
    `data directory ${dataDir} belongs to cluster ${formed.clusterId} (formed with initial_cluster ` +
      `${threeMembers} and token "goqueue-cluster"), but this broker was started for cluster ` +
      `${deriveClusterId(otherList)} (formed with initial_cluster ${otherList} and token "goqueue-cluster"): ` +
      'use another --data-dir or remove it (or start it with the initial_cluster and token its cluster was formed with)',
  );
  const otherToken = await identityError(
    t,
    checkClusterIdentity(dataDir, { brokerId: 1, initialCluster: threeMembers, token: 'staging' }),
  );
  t.is(otherToken.code, 'CLUSTER_ID_MISMATCH');
  t.regex(otherToken.message, /started for cluster .* and token "staging"\)/);
  const joining = await identityError(
    t,
    checkClusterIdentity(dataDir, { brokerId: 1, clusterId: '00000000-0000-8000-8000-000000000000' }),
  );
  t.is(joining.code, 'CLUSTER_ID_MISMATCH');
  t.regex(
    joining.message,
    /is joining cluster 00000000-0000-8000-8000-000000000000: use another --data-dir or remove it$/,
  );
  t.is(readFileSync(join(dataDir, CLUSTER_IDENTITY_FILE), 'utf8'), before, 'a refusal leaves the file alone');
});

test("another broker's data directory is refused, naming both broker ids", async (t) => {
  const dataDir = newDataDir();
  const formed = await checkClusterIdentity(dataDir, { brokerId: 1, initialCluster: threeMembers });
  const error = await identityError(
    t,
    checkClusterIdentity(dataDir, { brokerId: 2, initialCluster: threeMembers }),
  );
  t.is(error.code, 'BROKER_ID_MISMATCH');
  t.is(
    error.message,
    `data directory ${dataDir} belongs to cluster ${formed.clusterId} (formed with initial_cluster ` +
      `${threeMembers} and token "goqueue-cluster") as broker 1, but this broker has broker_id 2: ` +
      'start it with broker_id 1, or use another --data-dir or remove it',
  );
});

test('a cluster of one without a list gets a random id, kept across restarts and address changes', async (t) => {
  const first = newDataDir();
  const second = newDataDir();
  const a = await checkClusterIdentity(first, { brokerId: 1 });
  const b = await checkClusterIdentity(second, { brokerId: 1 });
  t.true(a.fresh);
  t.not(a.clusterId, b.clusterId, 'two independent single brokers are two clusters');
  t.like(storedIdentity(first), { clusterId: a.clusterId, brokerId: 1, initialCluster: '' });
  t.is((await checkClusterIdentity(first, { brokerId: 1 })).clusterId, a.clusterId);
  const asFounder = await identityError(
    t,
    checkClusterIdentity(first, { brokerId: 1, initialCluster: threeMembers }),
  );
  t.is(asFounder.code, 'CLUSTER_ID_MISMATCH');
  t.regex(
    asFounder.message,
    new RegExp(`belongs to cluster ${a.clusterId} \\(formed without initial_cluster\\)`),
  );
});

test('a cluster of one listed alone keeps its id when its Raft address changes; a real list does not', async (t) => {
  const dataDir = newDataDir();
  const formed = await checkClusterIdentity(dataDir, { brokerId: 1, initialCluster: '1=127.0.0.1:9093' });
  const moved = await checkClusterIdentity(dataDir, { brokerId: 1, initialCluster: '1=0.0.0.0:9200' });
  t.is(moved.clusterId, formed.clusterId);
  t.like(storedIdentity(dataDir), { initialCluster: '1=127.0.0.1:9093' }, 'the file is not rewritten');
  const grown = await identityError(
    t,
    checkClusterIdentity(dataDir, { brokerId: 1, initialCluster: '1=127.0.0.1:9093,2=127.0.0.1:9094' }),
  );
  t.is(grown.code, 'CLUSTER_ID_MISMATCH', 'growing a cluster goes through join, not a new list');

  const founder = newDataDir();
  await checkClusterIdentity(founder, { brokerId: 1, initialCluster: threeMembers });
  const shrunk = await identityError(
    t,
    checkClusterIdentity(founder, { brokerId: 1, initialCluster: '1=127.0.0.1:7001' }),
  );
  t.is(shrunk.code, 'CLUSTER_ID_MISMATCH', 'a member of three is not a cluster of one');
});

test('a given cluster id (a broker that joined) is what an unused directory is labelled with', async (t) => {
  const dataDir = newDataDir();
  const clusterId = deriveClusterId(threeMembers);
  const check = await checkClusterIdentity(dataDir, { brokerId: 4, clusterId });
  t.like(check, { clusterId, fresh: true, adopted: false });
  t.like(storedIdentity(dataDir), { clusterId, brokerId: 4, initialCluster: '' });
  t.is(
    (await checkClusterIdentity(dataDir, { brokerId: 4, initialCluster: threeMembers })).clusterId,
    clusterId,
  );
});

test("an earlier version's data directory is adopted, keeping its metadata.json cluster id", async (t) => {
  const dataDir = newDataDir();
  mkdirSync(join(dataDir, 'topics', 'orders-0'), { recursive: true });
  writeFileSync(join(dataDir, 'metadata.json'), JSON.stringify({ clusterId: 'legacy-id', topics: {} }));
  const check = await checkClusterIdentity(dataDir, { brokerId: 1 });
  t.like(check, { clusterId: 'legacy-id', fresh: false, adopted: true });
  t.like(storedIdentity(dataDir), { clusterId: 'legacy-id', brokerId: 1 });
  const again = await checkClusterIdentity(dataDir, { brokerId: 1 });
  t.like(again, { clusterId: 'legacy-id', fresh: false, adopted: false });

  const listed = newDataDir();
  mkdirSync(join(listed, 'topics'), { recursive: true });
  writeFileSync(join(listed, 'metadata.json'), JSON.stringify({ clusterId: 'legacy-id' }));
  const founder = await checkClusterIdentity(listed, { brokerId: 1, initialCluster: threeMembers });
  t.like(
    founder,
    { clusterId: deriveClusterId(threeMembers), adopted: true },
    'founders must agree: derived id',
  );

  const withoutMetadata = newDataDir();
  mkdirSync(join(withoutMetadata, 'topics'), { recursive: true });
  const random = await checkClusterIdentity(withoutMetadata, { brokerId: 1 });
  t.true(random.adopted);
  t.regex(random.clusterId, /^[0-9a-f-]{36}$/);
});

test('a lock file, an interrupted identity write or lost+found leave a directory unused', async (t) => {
  const dataDir = newDataDir();
  mkdirSync(join(dataDir, 'lost+found'), { recursive: true });
  writeFileSync(join(dataDir, '.lock'), '123');
  writeFileSync(join(dataDir, `${CLUSTER_IDENTITY_FILE}.tmp`), '{"version":');
  const check = await checkClusterIdentity(dataDir, { brokerId: 1, initialCluster: '1=127.0.0.1:7001' });
  t.like(check, { fresh: true, adopted: false });
  t.false(existsSync(join(dataDir, `${CLUSTER_IDENTITY_FILE}.tmp`)), 'the new write replaced the torn one');
});

test('an unreadable identity file is refused, never overwritten', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['{"version": 1, "clusterId": "x"', /not JSON/],
    ['[]', /no clusterId|version undefined/],
    [
      '{"version": 2, "clusterId": "x", "brokerId": 1, "initialCluster": "", "token": "t"}',
      /version 2; this goqueue reads version 1/,
    ],
    ['{"version": 1, "clusterId": "", "brokerId": 1, "initialCluster": "", "token": "t"}', /no clusterId/],
    ['{"version": 1, "clusterId": "x", "brokerId": "1", "initialCluster": "", "token": "t"}', /no brokerId/],
    ['{"version": 1, "clusterId": "x", "brokerId": 1, "token": "t"}', /no initialCluster/],
    ['{"version": 1, "clusterId": "x", "brokerId": 1, "initialCluster": ""}', /no token/],
  ];
  for (const [text, reason] of cases) {
    const dataDir = newDataDir();
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, CLUSTER_IDENTITY_FILE), text);
    const error = await identityError(t, checkClusterIdentity(dataDir, { brokerId: 1 }));
    t.is(error.code, 'CLUSTER_FILE_INVALID', text);
    t.regex(error.message, reason, text);
    t.regex(error.message, /is not a goqueue cluster identity file .*remove the data directory/);
    t.is(readFileSync(join(dataDir, CLUSTER_IDENTITY_FILE), 'utf8'), text);
  }
});

test('readClusterIdentity returns null for a directory without an identity, or none at all', async (t) => {
  t.is(await readClusterIdentity(newDataDir()), null);
  const dataDir = newDataDir();
  await checkClusterIdentity(dataDir, { brokerId: 5, initialCluster: '5=127.0.0.1:7005' });
  t.like(await readClusterIdentity(dataDir), { brokerId: 5, initialCluster: '5=127.0.0.1:7005' });
});

test('expectedClusterIdentity passes the list only when one is configured', (t) => {
  const single = loadConfig({ flags: { brokerId: '3' } });
  t.deepEqual(expectedClusterIdentity(single), { brokerId: 3, token: 'goqueue-cluster' });
  const founder = loadConfig({
    flags: { brokerId: '2', initialCluster: threeMembers, initialClusterToken: 'prod' },
  });
  t.deepEqual(expectedClusterIdentity(founder), {
    brokerId: 2,
    token: 'prod',
    initialCluster: founder.initialCluster,
  });
});
