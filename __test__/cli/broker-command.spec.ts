import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Command } from 'commander';
import { type BrokerOptions, loadBrokerConfig, registerBrokerCommand } from '../../src/cli/broker-command.js';
import { acceptOneDashFlags } from '../../src/cli/one-dash-flags.js';
import { controllerVoters } from '../../src/config/cluster-members.js';
import type { BrokerConfig } from '../../src/config/types.js';

const directory = mkdtempSync(join(tmpdir(), 'goqueue-cli-broker-command-'));
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

/** What `goqueue <args>` hands the broker command, parsed as main does but without running it. */
async function parsedOptions(args: string[]): Promise<BrokerOptions> {
  let captured: BrokerOptions | undefined;
  const program = new Command('goqueue').exitOverride();
  registerBrokerCommand(program, async (options) => {
    captured = options;
  });
  await program.parseAsync(acceptOneDashFlags(['node', 'goqueue', ...args]), { from: 'node' });
  if (captured === undefined) throw new Error('the broker action did not run');
  return captured;
}

const seedMembers = [
  { brokerId: 1, raftHost: 'localhost', raftPort: 7001 },
  { brokerId: 2, raftHost: 'localhost', raftPort: 7002 },
  { brokerId: 3, raftHost: 'localhost', raftPort: 7003 },
];

/** The original go-queue's three start commands (README), with the peers in each config file. */
const seedNodes = [
  { file: 'broker1.json', id: 'broker1', raft: 'localhost:7001', client: 'localhost:9092' },
  { file: 'broker2.json', id: 'broker2', raft: 'localhost:7002', client: 'localhost:9093' },
  { file: 'broker3.json', id: 'broker3', raft: 'localhost:7003', client: 'localhost:9094' },
];

/** The three forms a JSON file may give initial_cluster in. */
const listForms: Record<string, unknown> = {
  string: '1=localhost:7001,2=localhost:7002,3=localhost:7003',
  array: ['broker1=localhost:7001', 'broker2=localhost:7002', 'broker3=localhost:7003'],
  object: { broker1: 'localhost:7001', broker2: 'localhost:7002', broker3: 'localhost:7003' },
};

for (const [form, initialCluster] of Object.entries(listForms)) {
  test(`the seed's one-dash start commands resolve to one cluster (initial_cluster as ${form})`, async (t) => {
    const configs: BrokerConfig[] = [];
    for (const [i, node] of seedNodes.entries()) {
      const file = join(directory, `${form}-${node.file}`);
      writeFileSync(file, JSON.stringify({ data_dir: `./data${i + 1}`, initial_cluster: initialCluster }));
      const options = await parsedOptions([
        'broker',
        `-config=${file}`,
        `-broker-id=${node.id}`,
        `-raft-addr=${node.raft}`,
        `-client-addr=${node.client}`,
      ]);
      configs.push(loadBrokerConfig(options, {}));
    }
    for (const [i, config] of configs.entries()) {
      t.like(config, {
        brokerId: i + 1,
        raftHost: 'localhost',
        raftPort: 7001 + i,
        clientHost: 'localhost',
        clientPort: 9092 + i,
        advertisedHost: 'localhost',
        advertisedPort: 9092 + i,
        joinAddress: null,
        initialClusterToken: 'goqueue-cluster',
      });
      t.true(config.dataDir.endsWith(`data${i + 1}`));
      t.deepEqual(config.initialCluster, seedMembers);
      t.deepEqual(controllerVoters(config), [1, 2, 3]);
    }
  });
}

test('--config is optional: GOQUEUE_CONFIG names the file, flags still win over it', async (t) => {
  const file = join(directory, 'env-named.json');
  writeFileSync(file, JSON.stringify({ broker_id: 'broker2', initial_cluster: listForms.array }));
  const options = await parsedOptions(['broker', '--rack', 'r1', '--broker-session-timeout', '12s']);
  const config = loadBrokerConfig(options, { GOQUEUE_CONFIG: file });
  t.like(config, {
    brokerId: 2,
    raftHost: 'localhost',
    raftPort: 7002,
    rack: 'r1',
    brokerSessionTimeoutMs: 12_000,
  });
});

test('the new cluster flags parse, one dash or two', async (t) => {
  const options = await parsedOptions([
    'broker',
    '-broker-id=broker4',
    '-join=localhost:7001',
    '--raft-addr',
    'localhost:7004',
    '-initial-cluster-token=prod',
  ]);
  t.like(loadBrokerConfig(options, {}), {
    brokerId: 4,
    joinAddress: { host: 'localhost', port: 7001 },
    initialClusterToken: 'prod',
    initialCluster: [],
  });
});

test('warnings (an even member count) reach the caller of loadBrokerConfig', async (t) => {
  const warnings: string[] = [];
  const options = await parsedOptions(['broker', '--initial-cluster', '1=localhost:7001,2=localhost:7002']);
  loadBrokerConfig(options, {}, (message) => warnings.push(message));
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /^initial_cluster lists 2 brokers: the controller's voters are 1 /);
});
