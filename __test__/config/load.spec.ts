import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  type BrokerFlags,
  CONFIG_KEYS,
  ConfigError,
  defaultConfig,
  envNameFor,
  loadConfig,
} from '../../src/config/load.js';
import type { BrokerConfig } from '../../src/config/types.js';

const cwd = '/srv/goqueue';
const directory = mkdtempSync(join(tmpdir(), 'goqueue-config-'));
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

let fileCount = 0;
function configFile(content: unknown): string {
  const file = join(directory, `config-${fileCount++}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function configError(t: import('ava').ExecutionContext, load: () => unknown): ConfigError {
  const error = t.throws(load, { instanceOf: ConfigError });
  return error as ConfigError;
}

/**
 * One sample per key: the value as a JSON file holds it, as text (environment and flags), and
 * the fields it must produce. Every key in the table needs a sample (checked below).
 */
const samples: Record<string, { json: unknown; text: string; fields: Partial<BrokerConfig> }> = {
  broker_id: { json: 'broker1', text: '1', fields: { brokerId: 1 } },
  data_dir: { json: './data', text: './data', fields: { dataDir: '/srv/goqueue/data' } },
  client_addr: {
    json: '127.0.0.1:9500',
    text: '127.0.0.1:9500',
    fields: { clientHost: '127.0.0.1', clientPort: 9500, advertisedHost: '127.0.0.1', advertisedPort: 9500 },
  },
  'server.host': { json: '::1', text: '::1', fields: { clientHost: '::1', advertisedHost: '::1' } },
  'server.port': { json: '9600', text: '9600', fields: { clientPort: 9600, advertisedPort: 9600 } },
  advertised_addr: {
    json: 'kafka.example.com:19092',
    text: 'kafka.example.com:19092',
    fields: { advertisedHost: 'kafka.example.com', advertisedPort: 19092, clientPort: 9092 },
  },
  raft_addr: {
    json: '127.0.0.1:9700',
    text: '127.0.0.1:9700',
    fields: { raftHost: '127.0.0.1', raftPort: 9700 },
  },
  initial_cluster: {
    json: ['1=127.0.0.1:9093', '2=10.0.0.2:9093'],
    text: '1=127.0.0.1:9093,2=10.0.0.2:9093',
    fields: {
      initialCluster: [
        { brokerId: 1, raftHost: '127.0.0.1', raftPort: 9093 },
        { brokerId: 2, raftHost: '10.0.0.2', raftPort: 9093 },
      ],
    },
  },
  initial_cluster_token: { json: 'prod-eu', text: 'prod-eu', fields: { initialClusterToken: 'prod-eu' } },
  join: {
    json: '10.0.0.1:7001',
    text: '10.0.0.1:7001',
    fields: { joinAddress: { host: '10.0.0.1', port: 7001 }, initialCluster: [] },
  },
  'broker.rack': { json: 'eu-west-1a', text: 'eu-west-1a', fields: { rack: 'eu-west-1a' } },
  broker_session_timeout: { json: '12s', text: '12000', fields: { brokerSessionTimeoutMs: 12_000 } },
  broker_heartbeat_interval: { json: '2s', text: '2000', fields: { brokerHeartbeatIntervalMs: 2000 } },
  raft_tick: { json: '50ms', text: '50', fields: { raftTickMs: 50 } },
  election_timeout: { json: '2s', text: '2000', fields: { electionTimeoutMs: 2000 } },
  segment_size: { json: 104857600, text: '100MiB', fields: { segmentBytes: 104857600 } },
  segment_time: { json: '12h', text: '43200000', fields: { segmentMs: 43_200_000 } },
  retention_time: { json: '168h', text: '7d', fields: { retentionMs: 604_800_000 } },
  max_storage_size: { json: 1073741824000, text: '1000GiB', fields: { retentionBytes: 1073741824000 } },
  flush_interval: { json: '5s', text: '5000', fields: { flushIntervalMs: 5000 } },
  fsync_enabled: { json: false, text: 'false', fields: { fsyncEnabled: false } },
  cleanup_interval: { json: '1h', text: '60m', fields: { cleanupIntervalMs: 3_600_000 } },
  max_message_size: { json: 2097152, text: '2MiB', fields: { maxMessageBytes: 2097152 } },
  max_request_size: { json: 209715200, text: '200MiB', fields: { maxRequestBytes: 209715200 } },
  queued_max_request_bytes: {
    json: 536870912,
    text: '512MiB',
    fields: { queuedMaxRequestBytes: 536870912 },
  },
  max_connections: { json: 500, text: '500', fields: { maxConnections: 500 } },
  max_connections_per_ip: { json: 50, text: '50', fields: { maxConnectionsPerIp: 50 } },
  connections_max_idle: { json: '5m', text: '300000', fields: { connectionsMaxIdleMs: 300_000 } },
  request_read_timeout: { json: '30s', text: '30000', fields: { requestReadTimeoutMs: 30_000 } },
  min_free_bytes: { json: 1073741824, text: '1GiB', fields: { minFreeBytes: 1073741824 } },
  scrub_rate: { json: 8388608, text: '8MiB', fields: { scrubBytesPerSecond: 8388608 } },
  compression_enabled: { json: true, text: 'true', fields: { compressionEnabled: true } },
  compression_type: { json: 'gzip', text: 'ZSTD', fields: { compressionType: 'gzip' } },
  compression_threshold: { json: 2048, text: '2KiB', fields: { compressionThresholdBytes: 2048 } },
  deduplication_enabled: { json: true, text: 'yes', fields: { deduplicationEnabled: true } },
  deduplication_window: { json: '1m', text: '1m', fields: { deduplicationWindowMs: 60_000 } },
  deduplication_window_records: { json: 50, text: '50', fields: { deduplicationWindowRecords: 50 } },
  producer_id_expiration: { json: '2h', text: '2h', fields: { producerIdExpirationMs: 7_200_000 } },
  offsets_topic_num_partitions: { json: 8, text: '8', fields: { offsetsTopicPartitions: 8 } },
  offsets_topic_replication_factor: { json: 1, text: '1', fields: { offsetsTopicReplicationFactor: 1 } },
  offsets_retention_minutes: { json: 60, text: '60', fields: { offsetsRetentionMs: 3_600_000 } },
  enable_follower_read: { json: true, text: 'yes', fields: { enableFollowerRead: true } },
  follower_read_consistency: {
    json: 'strict',
    text: 'strict',
    fields: { followerReadConsistency: 'strict' },
  },
  replica_replace_after: { json: '30s', text: '30s', fields: { replicaReplaceAfterMs: 30_000 } },
  max_replica_moves: { json: 3, text: '3', fields: { maxReplicaMoves: 3 } },
  leader_balance_interval: { json: '1m', text: '1m', fields: { leaderBalanceIntervalMs: 60_000 } },
  leader_imbalance_percent: { json: 25, text: '25', fields: { leaderImbalancePercent: 25 } },
  controller_voters: { json: 5, text: '5', fields: { controllerVoters: 5 } },
  replica_balance: { json: false, text: 'false', fields: { replicaBalance: false } },
  replica_imbalance_percent: { json: 20, text: '20', fields: { replicaImbalancePercent: 20 } },
  max_topic_partitions: { json: 64, text: '64', fields: { maxTopicPartitions: 64 } },
  auto_create_topics: { json: true, text: 'true', fields: { autoCreateTopics: true } },
  default_partitions: { json: 3, text: '3', fields: { defaultPartitions: 3 } },
  default_replication_factor: { json: 3, text: '3', fields: { defaultReplicationFactor: 3 } },
  'server.http_port': { json: 8081, text: '8081', fields: { httpPort: 8081 } },
  log_level: { json: 'debug', text: 'WARN', fields: { logLevel: 'debug' } },
  'server.log_file': {
    json: './logs/broker.log',
    text: './logs/broker.log',
    fields: { logFile: '/srv/goqueue/logs/broker.log' },
  },
};

/** A valid environment value the flag must override, for the keys that have a flag. */
const otherText: Record<string, string> = {
  broker_id: '7',
  data_dir: '/elsewhere',
  client_addr: '127.0.0.1:9999',
  advertised_addr: 'other.example.com:1',
  raft_addr: '127.0.0.1:9998',
  initial_cluster: '1=127.0.0.1:9093',
  initial_cluster_token: 'other-token',
  join: '10.0.0.9:7009',
  'broker.rack': 'rack-z',
  broker_session_timeout: '20s',
  auto_create_topics: 'false',
  log_level: 'error',
  'server.log_file': '/var/log/other.log',
};

/** What the text form produces where it differs from the JSON form's fields. */
const textFields: Record<string, Partial<BrokerConfig>> = {
  compression_type: { compressionType: 'zstd' },
  log_level: { logLevel: 'warn' },
};

function nested(key: string, value: unknown): Record<string, unknown> {
  const [section, name] = key.split('.');
  return name === undefined ? { [key]: value } : { [section!]: { [name]: value } };
}

function flagName(flag: string): keyof BrokerFlags {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof BrokerFlags;
}

test('defaults: single node on 127.0.0.1:9092, raft 9093, ./goqueue-data, 1 GiB segments, 7 days', (t) => {
  const config = loadConfig({ cwd });
  t.like(config, {
    brokerId: 1,
    dataDir: '/srv/goqueue/goqueue-data',
    clientHost: '127.0.0.1',
    clientPort: 9092,
    advertisedHost: '127.0.0.1',
    advertisedPort: 9092,
    raftHost: '127.0.0.1',
    raftPort: 9093,
    segmentBytes: 2 ** 30,
    retentionMs: 7 * 86_400_000,
    retentionBytes: -1,
    maxMessageBytes: 2 ** 20,
    maxRequestBytes: 100 * 2 ** 20,
    fsyncEnabled: true,
    autoCreateTopics: false,
    compressionType: 'producer',
    logLevel: 'info',
    logFile: null,
  });
  t.deepEqual(config.initialCluster, []);
  t.deepEqual({ ...defaultConfig(), dataDir: '/srv/goqueue/goqueue-data' }, config);
});

test('cluster defaults: token goqueue-cluster, no join, no rack, 9 s sessions, 1 s heartbeats, 100 ms ticks, 1 s elections', (t) => {
  t.like(loadConfig({ cwd }), {
    initialClusterToken: 'goqueue-cluster',
    joinAddress: null,
    rack: null,
    brokerSessionTimeoutMs: 9000,
    brokerHeartbeatIntervalMs: 1000,
    raftTickMs: 100,
    electionTimeoutMs: 1000,
  });
});

test('every key in the table has a sample here, a GOQUEUE_ variable derived from its name', (t) => {
  t.deepEqual(CONFIG_KEYS.map((spec) => spec.key).sort(), Object.keys(samples).sort());
  for (const spec of CONFIG_KEYS) t.is(spec.env, 'GOQUEUE_' + spec.key.toUpperCase().replaceAll('.', '_'));
  t.is(envNameFor('server.port'), 'GOQUEUE_SERVER_PORT');
});

for (const spec of CONFIG_KEYS) {
  const sample = samples[spec.key]!;

  test(`file key ${spec.key} sets ${Object.keys(sample.fields).join(', ')}`, (t) => {
    const config = loadConfig({ cwd, file: configFile(nested(spec.key, sample.json)) });
    t.like(config, sample.fields);
  });

  test(`environment variable ${spec.env} overrides file key ${spec.key}`, (t) => {
    const fromFile = { ...nested(spec.key, sample.json) };
    const fields = { ...sample.fields, ...textFields[spec.key] };
    const config = loadConfig({ cwd, file: configFile(fromFile), env: { [spec.env]: sample.text } });
    t.like(config, fields);
    const withoutFile = loadConfig({ cwd, env: { [spec.env]: sample.text } });
    t.like(withoutFile, fields);
  });

  if (spec.flag !== null) {
    const flag = spec.flag;
    test(`flag ${flag} sets ${spec.key} and wins over the environment`, (t) => {
      const fields = { ...sample.fields, ...textFields[spec.key] };
      const value = spec.type === 'boolean' ? true : sample.text;
      const config = loadConfig({
        cwd,
        env: { [spec.env]: otherText[spec.key] },
        flags: { [flagName(flag)]: value } as BrokerFlags,
      });
      t.like(config, fields);
    });
  }
}

test('the original go-queue example file loads as written', (t) => {
  const file = configFile({
    data_dir: './data',
    max_topic_partitions: 1000,
    segment_size: 104857600,
    retention_time: '168h',
    max_storage_size: 1073741824000,
    flush_interval: '5s',
    cleanup_interval: '1h',
    max_message_size: 1048576,
    compression_enabled: true,
    compression_type: 'gzip',
    compression_threshold: 1024,
    deduplication_enabled: false,
    server: { port: '9092', log_file: './logs/broker.log' },
    enable_follower_read: true,
  });
  t.like(loadConfig({ cwd, file }), {
    dataDir: '/srv/goqueue/data',
    maxTopicPartitions: 1000,
    segmentBytes: 104857600,
    retentionMs: 168 * 3_600_000,
    retentionBytes: 1073741824000,
    flushIntervalMs: 5000,
    cleanupIntervalMs: 3_600_000,
    maxMessageBytes: 1048576,
    compressionEnabled: true,
    compressionType: 'gzip',
    compressionThresholdBytes: 1024,
    deduplicationEnabled: false,
    clientPort: 9092,
    logFile: '/srv/goqueue/logs/broker.log',
    enableFollowerRead: true,
  });
});

test('precedence on one key: default < file < environment < flag', (t) => {
  const file = configFile({ data_dir: '/from/file' });
  t.is(loadConfig({ cwd }).dataDir, '/srv/goqueue/goqueue-data');
  t.is(loadConfig({ cwd, file }).dataDir, '/from/file');
  t.is(loadConfig({ cwd, file, env: { GOQUEUE_DATA_DIR: '/from/env' } }).dataDir, '/from/env');
  const all = loadConfig({
    cwd,
    file,
    env: { GOQUEUE_DATA_DIR: '/from/env' },
    flags: { dataDir: '/from/flag' },
  });
  t.is(all.dataDir, '/from/flag');
});

test('server.port refines client_addr within a source, and a later source overrides both', (t) => {
  const file = configFile({ client_addr: '0.0.0.0:9000', server: { port: 9100 } });
  t.like(loadConfig({ cwd, file }), { clientHost: '0.0.0.0', clientPort: 9100 });
  const env = { GOQUEUE_SERVER_PORT: '9200' };
  t.like(loadConfig({ cwd, file, env }), { clientHost: '0.0.0.0', clientPort: 9200 });
  const flags = { clientAddr: '127.0.0.1:9300' };
  t.like(loadConfig({ cwd, file, env, flags }), { clientHost: '127.0.0.1', clientPort: 9300 });
});

test('a wildcard listener advertises the machine name; port 0 is left for the broker to fill', (t) => {
  t.like(loadConfig({ cwd, flags: { clientAddr: '0.0.0.0:9092' } }), {
    advertisedHost: hostname(),
    advertisedPort: 9092,
  });
  t.like(loadConfig({ cwd, flags: { clientAddr: '127.0.0.1:0' } }), {
    advertisedHost: '127.0.0.1',
    advertisedPort: 0,
  });
});

test('a broker in initial_cluster takes its raft address from the list unless raft_addr is set', (t) => {
  const flags = { brokerId: '2', initialCluster: '1=10.0.0.1:7001,2=10.0.0.2:7002' };
  t.like(loadConfig({ cwd, flags }), { raftHost: '10.0.0.2', raftPort: 7002 });
  t.like(loadConfig({ cwd, flags: { ...flags, raftAddr: '0.0.0.0:7002' } }), {
    raftHost: '0.0.0.0',
    raftPort: 7002,
  });
});

test('nested and dotted file keys are the same key; giving both is rejected', (t) => {
  t.is(loadConfig({ cwd, file: configFile({ 'server.port': 9400 }) }).clientPort, 9400);
  const error = configError(t, () =>
    loadConfig({ cwd, file: configFile({ server: { port: 1 }, 'server.port': 2 }) }),
  );
  t.is(error.key, 'server.port');
  t.regex(error.message, /given twice/);
});

test('an unknown file key is rejected by name with the closest known key', (t) => {
  const error = configError(t, () => loadConfig({ cwd, file: configFile({ segment_sise: 1024 }) }));
  t.is(error.key, 'segment_sise');
  t.is(error.source, 'file');
  t.regex(
    error.message,
    /unknown key "segment_sise" in config file .*config-\d+\.json; did you mean "segment_size"\?/,
  );
  const nestedError = configError(t, () => loadConfig({ cwd, file: configFile({ server: { prot: 1 } }) }));
  t.is(nestedError.key, 'server.prot');
  t.regex(nestedError.message, /did you mean "server.port"/);
  const far = configError(t, () => loadConfig({ cwd, file: configFile({ zookeeper: 'x' }) }));
  t.notRegex(far.message, /did you mean/);
});

test('a missing file, invalid JSON and a non-object top level are rejected with the file named', (t) => {
  const missing = configError(t, () => loadConfig({ file: join(directory, 'absent.json') }));
  t.regex(missing.message, /cannot read config file .*absent\.json: no such file/);
  const broken = configError(t, () => loadConfig({ file: configFile('{ "data_dir": ') }));
  t.regex(broken.message, /config file .* is not valid JSON/);
  const array = configError(t, () => loadConfig({ file: configFile('[1, 2]') }));
  t.regex(array.message, /top level must be a JSON object/);
  t.is(array.key, 'config');
});

test('a section that is not an object is rejected listing the keys it holds', (t) => {
  const error = configError(t, () => loadConfig({ file: configFile({ server: '9092' }) }));
  t.is(error.key, 'server');
  t.regex(error.reason, /must be an object \(with host, port, http_port, log_file\)/);
});

test('a relative config file path is read against cwd', (t) => {
  const file = configFile({ broker_id: 9 });
  t.is(loadConfig({ cwd: directory, file: file.slice(directory.length + 1) }).brokerId, 9);
});

test('a UTF-8 byte order mark at the start of the file is accepted', (t) => {
  t.is(loadConfig({ cwd, file: configFile('\uFEFF{"broker_id": 4}') }).brokerId, 4);
});

/** Values each key must reject (as environment text) and a fragment of the reason. */
const rejections: Array<[string, string, RegExp]> = [
  ['broker_id', 'node-a', /not a broker id/],
  ['broker_id', '-1', /0 to 2147483647/],
  ['data_dir', '   ', /non-empty/],
  ['client_addr', 'localhost', /not an address/],
  ['client_addr', '127.0.0.1:99999', /not a port/],
  ['server.host', 'a b', /not a host/],
  ['server.port', '70000', /not a port/],
  ['server.port', 'http', /whole number/],
  ['advertised_addr', '0.0.0.0:9092', /cannot be advertised/],
  ['advertised_addr', 'nohost', /not an address/],
  ['raft_addr', 'x:y', /not an address/],
  ['initial_cluster', '1=a:1,1=b:2', /listed twice/],
  ['initial_cluster', '2=127.0.0.1:9093', /does not list this broker \(broker_id 1\)/],
  ['initial_cluster', '1=127.0.0.1:9093,x', /entry "x" is not id=host:port/],
  ['initial_cluster', '1=127.0.0.1:9093,2=127.0.0.1:9093', /give the same Raft address/],
  ['initial_cluster_token', 'a\u0007b', /control characters/],
  ['initial_cluster_token', 'x'.repeat(256), /longer than 255 characters/],
  ['join', 'seed-broker', /not an address/],
  ['join', '10.0.0.1:0', /port 0 cannot be dialled/],
  ['join', '127.0.0.1:9093', /this broker's own raft_addr/],
  ['broker.rack', 'r'.repeat(256), /longer than 255 characters/],
  ['broker_session_timeout', '50ms', /out of range \(100 to 3600000\)/],
  ['broker_session_timeout', '1500ms', /at least twice broker_heartbeat_interval \(1000 ms\)/],
  ['broker_heartbeat_interval', '5ms', /out of range \(10 to 60000\)/],
  ['broker_heartbeat_interval', '5s', /broker_session_timeout \(9000 ms\) must be at least twice/],
  ['raft_tick', '0', /out of range \(1 to 10000\)/],
  ['raft_tick', '500ms', /must be at least 3 raft_tick periods \(500 ms each\)/],
  ['election_timeout', '2m', /out of range \(1 to 60000\)/],
  ['election_timeout', '250ms', /election_timeout \(250 ms\) must be at least 3 raft_tick periods/],
  ['segment_size', 'big', /not a size/],
  ['segment_size', '512', /out of range \(1024 to 2147483647\)/],
  ['segment_size', '4GiB', /out of range/],
  ['segment_time', '0', /out of range/],
  ['segment_time', 'weekly', /not a duration/],
  ['retention_time', '0', /positive duration, or -1 to keep segments forever/],
  ['retention_time', '-5', /only -1/],
  ['max_storage_size', '0', /positive size, or -1 to set no size cap/],
  ['max_storage_size', 'lots', /not a size/],
  ['flush_interval', '2m', /out of range \(0 to 60000\)/],
  ['flush_interval', '-1', /negative/],
  ['fsync_enabled', 'sometimes', /not a boolean/],
  ['cleanup_interval', '0', /out of range/],
  ['max_message_size', '100', /out of range \(1024 to 1073741824\)/],
  ['max_message_size', '2GiB', /out of range/],
  ['max_request_size', '100', /out of range \(1024 to 1073741824\)/],
  ['max_request_size', '2GiB', /out of range/],
  ['queued_max_request_bytes', '100', /out of range/],
  ['max_connections', '0', /out of range/],
  ['max_connections_per_ip', '0', /out of range/],
  ['connections_max_idle', '0', /out of range/],
  ['request_read_timeout', '0', /out of range/],
  ['min_free_bytes', 'lots', /not a size/],
  ['scrub_rate', 'fast', /not a size/],
  ['compression_enabled', 'perhaps', /not a boolean/],
  ['compression_type', 'brotli', /not one of none, gzip, snappy, lz4, zstd, producer/],
  ['compression_threshold', '-1', /negative/],
  ['deduplication_enabled', '2', /not a boolean/],
  ['producer_id_expiration', '10ms', /out of range/],
  ['deduplication_window', 'soon', /./],
  ['deduplication_window_records', '0', /out of range/],
  ['offsets_topic_num_partitions', '0', /out of range \(1 to 1000\)/],
  ['offsets_topic_replication_factor', '0', /out of range/],
  ['offsets_retention_minutes', '0', /out of range/],
  ['enable_follower_read', 'maybe', /not a boolean/],
  ['follower_read_consistency', 'eventual', /not one of relaxed, strict/],
  ['replica_replace_after', '-1', /negative/],
  ['max_replica_moves', '0', /out of range/],
  ['leader_balance_interval', 'often', /not a duration/],
  ['leader_imbalance_percent', '-5', /out of range|negative/],
  ['controller_voters', '4', /not one of 1, 3, 5/],
  ['replica_balance', 'sometimes', /not a boolean/],
  ['replica_imbalance_percent', '101', /out of range/],
  ['max_topic_partitions', '0', /out of range/],
  ['auto_create_topics', 'always', /not a boolean/],
  ['default_partitions', '0', /out of range/],
  ['default_replication_factor', '40000', /int16/],
  ['server.http_port', '-2', /out of range \(-1 to 65535\)/],
  ['log_level', 'verbose', /not one of trace, debug, info, warn, error, fatal, silent/],
];

for (const [key, text, reason] of rejections) {
  const env = envNameFor(key);
  test(`${env}=${JSON.stringify(text)} is rejected naming ${key}, the variable and why`, (t) => {
    const error = configError(t, () => loadConfig({ cwd, env: { [env]: text } }));
    t.is(error.key, key);
    t.is(error.source, 'env');
    t.is(error.origin, `environment variable ${env}`);
    t.regex(error.reason, reason);
    t.true(error.message.startsWith(`${key}: `));
    t.true(error.message.endsWith(`(from environment variable ${env})`));
  });
}

test('every key has at least one rejection above (except free-form paths)', (t) => {
  const rejected = new Set(rejections.map(([key]) => key));
  const missing = CONFIG_KEYS.map((spec) => spec.key).filter((key) => !rejected.has(key));
  t.deepEqual(missing, ['server.log_file']);
});

test('a bad value is rejected even when a later source overrides the key', (t) => {
  const error = configError(t, () =>
    loadConfig({ env: { GOQUEUE_DATA_DIR: ' ' }, flags: { dataDir: '/ok' } }),
  );
  t.is(error.source, 'env');
});

test('a bad value in a file or a flag names that source', (t) => {
  const fromFile = configError(t, () => loadConfig({ file: configFile({ retention_time: 'soon' }) }));
  t.is(fromFile.source, 'file');
  t.regex(fromFile.message, /^retention_time: "soon" is not a duration .*\(from config file .*\.json\)$/);
  const fromFlag = configError(t, () => loadConfig({ flags: { brokerId: 'x' } }));
  t.is(fromFlag.source, 'flag');
  t.regex(fromFlag.message, /^broker_id: "x" is not a broker id .*\(from flag --broker-id\)$/);
  const wrongType = configError(t, () => loadConfig({ file: configFile({ compression_enabled: 'gzip' }) }));
  t.regex(wrongType.message, /compression_enabled: "gzip" is not a boolean/);
});

test('a segment smaller than the largest message is rejected, blaming the key set last', (t) => {
  const blamed = configError(t, () => loadConfig({ env: { GOQUEUE_SEGMENT_SIZE: '512KiB' } }));
  t.is(blamed.key, 'segment_size');
  t.regex(blamed.reason, /smaller than max_message_size \(1048576\)/);
  const file = configFile({ segment_size: '1MiB' });
  const other = configError(t, () => loadConfig({ file, env: { GOQUEUE_MAX_MESSAGE_SIZE: '2MiB' } }));
  t.is(other.key, 'max_message_size');
  t.regex(other.reason, /larger than segment_size/);
});

test('default_partitions above max_topic_partitions is rejected', (t) => {
  const error = configError(t, () =>
    loadConfig({ env: { GOQUEUE_DEFAULT_PARTITIONS: '20' }, file: configFile({ max_topic_partitions: 10 }) }),
  );
  t.is(error.key, 'default_partitions');
  t.regex(error.reason, /exceeds max_topic_partitions \(10\)/);
});

test('initial_cluster in a file may be a string, an array or an object, with brokerN ids', (t) => {
  const expected = [
    { brokerId: 1, raftHost: 'localhost', raftPort: 7001 },
    { brokerId: 2, raftHost: 'localhost', raftPort: 7002 },
    { brokerId: 3, raftHost: 'localhost', raftPort: 7003 },
  ];
  const forms: unknown[] = [
    '1=localhost:7001,2=localhost:7002,3=localhost:7003',
    ['broker1=localhost:7001', 'broker2=localhost:7002', 'broker3=localhost:7003'],
    { broker1: 'localhost:7001', broker2: 'localhost:7002', broker3: 'localhost:7003' },
  ];
  for (const form of forms) {
    const config = loadConfig({ cwd, file: configFile({ broker_id: 'broker2', initial_cluster: form }) });
    t.deepEqual(config.initialCluster, expected, JSON.stringify(form));
    t.like(config, { brokerId: 2, raftHost: 'localhost', raftPort: 7002 });
  }
});

test('a bad initial_cluster names the entry, the key and the source', (t) => {
  const error = configError(t, () =>
    loadConfig({
      file: configFile({ initial_cluster: ['broker1=localhost:7001', 'brokerX=localhost:7002'] }),
    }),
  );
  t.is(error.key, 'initial_cluster');
  t.regex(
    error.message,
    /^initial_cluster: entry "brokerX=localhost:7002": "brokerX" is not a broker id .*\(from config file .*\.json\)$/,
  );
  const duplicate = configError(t, () =>
    loadConfig({ flags: { initialCluster: '1=a:7001,2=b:7002,broker2=c:7003' } }),
  );
  t.is(
    duplicate.message,
    'initial_cluster: broker 2 is listed twice ("2=b:7002" and "broker2=c:7003") (from flag --initial-cluster)',
  );
  const missing = configError(t, () =>
    loadConfig({ flags: { brokerId: 'broker4', initialCluster: '1=a:7001,2=b:7002,3=c:7003' } }),
  );
  t.regex(
    missing.message,
    /^initial_cluster: does not list this broker \(broker_id 4\): add "4=<its raft host:port>"/,
  );
});

test('broker ids in the original form (broker1) are read everywhere; other words are refused by key', (t) => {
  t.is(loadConfig({ flags: { brokerId: 'broker3' } }).brokerId, 3);
  t.is(loadConfig({ env: { GOQUEUE_BROKER_ID: 'broker12' } }).brokerId, 12);
  t.is(loadConfig({ file: configFile({ broker_id: 'broker1' }) }).brokerId, 1);
  const error = configError(t, () => loadConfig({ file: configFile({ broker_id: 'leader' }) }));
  t.regex(
    error.message,
    /^broker_id: "leader" is not a broker id .*"broker1" also reads as 1\) \(from config file/,
  );
});

test('join and initial_cluster exclude each other; the message blames the key set last', (t) => {
  const error = configError(t, () =>
    loadConfig({
      file: configFile({ initial_cluster: '1=127.0.0.1:7001,2=127.0.0.1:7002' }),
      flags: { join: '127.0.0.1:7002' },
    }),
  );
  t.is(error.key, 'join');
  t.regex(error.reason, /join and initial_cluster exclude each other/);
  const other = configError(t, () =>
    loadConfig({ env: { GOQUEUE_JOIN: '127.0.0.1:7002' }, flags: { initialCluster: '1=127.0.0.1:7001' } }),
  );
  t.is(other.key, 'initial_cluster');
  t.like(
    loadConfig({ flags: { join: 'broker1.example.com:7001', raftAddr: '0.0.0.0:7004', brokerId: '4' } }),
    {
      joinAddress: { host: 'broker1.example.com', port: 7001 },
      brokerId: 4,
    },
  );
});

test('the rack may be given nested (broker.rack) in a file, by GOQUEUE_BROKER_RACK or by --rack', (t) => {
  t.is(loadConfig({ file: configFile({ broker: { rack: 'a' } }) }).rack, 'a');
  t.is(loadConfig({ file: configFile({ broker: { rack: null } }) }).rack, null);
  t.is(loadConfig({ env: { GOQUEUE_BROKER_RACK: 'b' } }).rack, 'b');
  t.is(loadConfig({ flags: { rack: 'c' } }).rack, 'c');
  const section = configError(t, () => loadConfig({ file: configFile({ broker: 'a' }) }));
  t.regex(section.reason, /must be an object \(with rack\)/);
});

test('the election timeout counts whole raft ticks and must span at least 3', (t) => {
  t.notThrows(() => loadConfig({ env: { GOQUEUE_RAFT_TICK: '10ms', GOQUEUE_ELECTION_TIMEOUT: '30ms' } }));
  const error = configError(t, () =>
    loadConfig({ env: { GOQUEUE_RAFT_TICK: '10ms', GOQUEUE_ELECTION_TIMEOUT: '29ms' } }),
  );
  t.regex(error.reason, /at least 3 raft_tick periods/);
  const override = configError(t, () => defaultConfig({ raftTickMs: 400 }));
  t.is(override.key, 'raftTickMs');
});

test('an even number of founding members is accepted with a warning naming the voters', (t) => {
  const warningsFor = (list: string, brokerId = '1'): string[] => {
    const warnings: string[] = [];
    loadConfig({ flags: { brokerId, initialCluster: list }, onWarning: (message) => warnings.push(message) });
    return warnings;
  };
  const members = (count: number): string =>
    Array.from({ length: count }, (_, i) => `${i + 1}=127.0.0.1:${7001 + i}`).join(',');
  t.deepEqual(warningsFor(members(1)), []);
  t.deepEqual(warningsFor(members(3)), []);
  t.deepEqual(warningsFor(members(5)), []);
  t.deepEqual(warningsFor(members(7)), [], 'learners above five voters are the design');
  t.deepEqual(warningsFor(members(2)), [
    "initial_cluster lists 2 brokers: the controller's voters are 1 (an odd count survives as many failures with a smaller quorum) and 2 follows it as a learner",
  ]);
  t.regex(warningsFor(members(4), '4')[0]!, /voters are 1, 2, 3 .* and 4 follows it as a learner$/);
});

test("raft_addr that disagrees with this broker's entry in initial_cluster is rejected", (t) => {
  const error = configError(t, () =>
    loadConfig({
      flags: { raftAddr: '127.0.0.1:7009', initialCluster: '1=127.0.0.1:7001,2=127.0.0.1:7002' },
    }),
  );
  t.is(error.key, 'raft_addr');
  t.regex(error.reason, /differs from initial_cluster's address for broker 1 \(127\.0\.0\.1:7001\)/);
  t.notThrows(() =>
    loadConfig({
      flags: { raftAddr: 'LOCALHOST:7001', initialCluster: '1=localhost:7001,2=localhost:7002' },
    }),
  );
});

test('the Kafka, Raft and HTTP listeners may not share a port', (t) => {
  const raft = configError(t, () => loadConfig({ flags: { raftAddr: '0.0.0.0:9092' } }));
  t.is(raft.key, 'raft_addr');
  t.regex(raft.reason, /both use port 9092/);
  const http = configError(t, () => loadConfig({ env: { GOQUEUE_SERVER_HTTP_PORT: '9093' } }));
  t.is(http.key, 'server.http_port');
  t.notThrows(() => loadConfig({ flags: { clientAddr: '127.0.0.1:0', raftAddr: '127.0.0.1:0' } }));
});

test('unknown GOQUEUE_ variables are reported as warnings with a suggestion; empty ones are unset', (t) => {
  const warnings: string[] = [];
  const config = loadConfig({
    cwd,
    env: { GOQUEUE_SEGMNT_SIZE: '1', GOQUEUE_CONFIG: 'x.json', GOQUEUE_DATA_DIR: '', PATH: '/bin' },
    onWarning: (message) => warnings.push(message),
  });
  t.deepEqual(warnings, [
    'ignoring unknown environment variable GOQUEUE_SEGMNT_SIZE; did you mean GOQUEUE_SEGMENT_SIZE?',
  ]);
  t.is(config.dataDir, '/srv/goqueue/goqueue-data');
});

test('an unknown flag name is rejected', (t) => {
  const error = configError(t, () => loadConfig({ flags: { segmentSize: '1' } as BrokerFlags }));
  t.is(error.key, 'segmentSize');
  t.is(error.source, 'flag');
});

test('defaultConfig checks a member list given as objects like one given as text', (t) => {
  const members = [
    { brokerId: 1, raftHost: '127.0.0.1', raftPort: 7001 },
    { brokerId: 2, raftHost: '127.0.0.1', raftPort: 7001 },
  ];
  const error = configError(t, () => defaultConfig({ initialCluster: members }));
  t.is(error.key, 'initialCluster');
  t.regex(error.reason, /give the same Raft address/);
});

test('defaultConfig applies overrides, ignores non-config properties and validates', (t) => {
  const config = defaultConfig({ clientPort: 0, dataDir: '/tmp/x', logger: {} } as Partial<BrokerConfig>);
  t.like(config, { clientPort: 0, advertisedPort: 0, dataDir: '/tmp/x' });
  t.false('logger' in config);
  t.like(defaultConfig({ advertisedPort: 19092 }), { advertisedHost: '127.0.0.1', advertisedPort: 19092 });
  const error = configError(t, () => defaultConfig({ segmentBytes: 10 }));
  t.is(error.key, 'segmentBytes');
  t.is(error.source, 'override');
  t.regex(error.message, /^segmentBytes: 10 is out of range .*\(from option segmentBytes\)$/);
  const badType = configError(t, () => defaultConfig({ compressionType: 'brotli' as 'gzip' }));
  t.is(badType.key, 'compressionType');
});

test('--no-auto-create-topics (false) overrides GOQUEUE_AUTO_CREATE_TOPICS=true', (t) => {
  const env = { GOQUEUE_AUTO_CREATE_TOPICS: 'true' };
  t.true(loadConfig({ env }).autoCreateTopics);
  t.false(loadConfig({ env, flags: { autoCreateTopics: false } }).autoCreateTopics);
});
