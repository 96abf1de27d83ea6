import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { controllerSizeWarning, electionTicks, formatHostPort } from './cluster-members.js';
import { CONFIG_KEYS, type ConfigKey, closest, FIELD_KEYS, FIELD_RULES } from './keys.js';
import type { BrokerConfig } from './types.js';
import { ValueError } from './values.js';

export { CONFIG_KEYS, type ConfigKey, envNameFor } from './keys.js';

/** Where a value came from, lowest precedence first (`override` is `defaultConfig`'s argument). */
export type ConfigSource = 'default' | 'file' | 'env' | 'flag' | 'override';

/**
 * A configuration a broker must not start with. The message is one line a user can act on:
 * the key, the reason, and where the value came from (`key: reason (from origin)`).
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** The JSON key (or, for `defaultConfig` overrides, the option) at fault. */
  readonly key: string;
  readonly source: ConfigSource;
  /** Human-readable source: `config file ./b.json`, `environment variable GOQUEUE_X`, `flag --x`. */
  readonly origin: string;
  readonly reason: string;

  constructor(details: {
    key: string;
    source: ConfigSource;
    origin: string;
    reason: string;
    message?: string;
  }) {
    super(details.message ?? `${details.key}: ${details.reason} (from ${details.origin})`);
    this.key = details.key;
    this.source = details.source;
    this.origin = details.origin;
    this.reason = details.reason;
  }
}

/**
 * `goqueue broker` options as commander parses them (camelCase of the long flag). Strings are
 * parsed exactly like the same key's environment variable.
 */
export interface BrokerFlags {
  brokerId?: string | number;
  dataDir?: string;
  clientAddr?: string;
  raftAddr?: string;
  advertisedAddr?: string;
  initialCluster?: string;
  initialClusterToken?: string;
  join?: string;
  rack?: string;
  brokerSessionTimeout?: string;
  logLevel?: string;
  logFile?: string;
  autoCreateTopics?: boolean | string;
}

export interface LoadConfigOptions {
  /** JSON config file (the original go-queue's keys). Omitted: no file. */
  file?: string;
  /** Environment to read `GOQUEUE_*` from; pass `process.env`. Omitted: none. */
  env?: Record<string, string | undefined>;
  flags?: BrokerFlags;
  /** Directory relative `data_dir` and `server.log_file` resolve against; default process.cwd(). */
  cwd?: string;
  /**
   * Told about things that are not errors: an unknown `GOQUEUE_*` variable, an even number of
   * founding members.
   */
  onWarning?: (message: string) => void;
}

interface Origin {
  source: ConfigSource;
  /** The key (or option) that set the field. */
  key: string;
  origin: string;
}

const sourceRank: Record<ConfigSource, number> = { default: 0, override: 1, file: 1, env: 2, flag: 3 };

/** Environment variables read by the CLI rather than the key table. */
const envOutsideTable = new Set(['GOQUEUE_CONFIG']);

function defaults(): BrokerConfig {
  return {
    brokerId: 1,
    dataDir: './goqueue-data',
    clientHost: '127.0.0.1',
    clientPort: 9092,
    advertisedHost: '127.0.0.1',
    advertisedPort: 9092,
    raftHost: '127.0.0.1',
    raftPort: 9093,
    initialCluster: [],
    initialClusterToken: 'goqueue-cluster',
    joinAddress: null,
    rack: null,
    brokerSessionTimeoutMs: 9000,
    brokerHeartbeatIntervalMs: 1000,
    raftTickMs: 100,
    electionTimeoutMs: 1000,
    segmentBytes: 2 ** 30,
    segmentMs: 7 * 86_400_000,
    retentionMs: 7 * 86_400_000,
    retentionBytes: -1,
    flushIntervalMs: 0,
    fsyncEnabled: true,
    cleanupIntervalMs: 300_000,
    maxMessageBytes: 2 ** 20,
    maxRequestBytes: 100 * 2 ** 20,
    queuedMaxRequestBytes: 256 * 2 ** 20,
    maxConnections: 10_000,
    maxConnectionsPerIp: 10_000,
    connectionsMaxIdleMs: 600_000,
    requestReadTimeoutMs: 60_000,
    minFreeBytes: 64 * 2 ** 20,
    scrubBytesPerSecond: 4 * 2 ** 20,
    compressionEnabled: false,
    compressionType: 'producer',
    compressionThresholdBytes: 1024,
    deduplicationEnabled: false,
    deduplicationWindowMs: 10 * 60_000,
    deduplicationWindowRecords: 10_000,
    producerIdExpirationMs: 86_400_000,
    offsetsTopicPartitions: 16,
    offsetsTopicReplicationFactor: 3,
    offsetsRetentionMs: 7 * 86_400_000,
    enableFollowerRead: false,
    followerReadConsistency: 'relaxed',
    replicaReplaceAfterMs: 300_000,
    maxReplicaMoves: 8,
    leaderBalanceIntervalMs: 300_000,
    leaderImbalancePercent: 10,
    controllerVoters: 3,
    replicaBalance: true,
    replicaImbalancePercent: 10,
    maxTopicPartitions: 1000,
    autoCreateTopics: false,
    defaultPartitions: 1,
    defaultReplicationFactor: 1,
    httpPort: -1,
    logLevel: 'info',
    logFile: null,
  };
}

const fieldNames = Object.keys(FIELD_KEYS) as Array<keyof BrokerConfig>;

class Resolution {
  readonly config = defaults();
  readonly origins = new Map<keyof BrokerConfig, Origin>(
    fieldNames.map((field) => [field, { source: 'default', key: FIELD_KEYS[field], origin: 'default' }]),
  );

  set(fields: Partial<BrokerConfig>, origin: Origin): void {
    for (const [field, value] of Object.entries(fields) as Array<[keyof BrokerConfig, never]>) {
      if (value === undefined) continue;
      this.config[field] = value;
      this.origins.set(field, origin);
    }
  }

  origin(field: keyof BrokerConfig): Origin {
    return this.origins.get(field)!;
  }

  isDefault(field: keyof BrokerConfig): boolean {
    return this.origin(field).source === 'default';
  }

  fail(field: keyof BrokerConfig, reason: string): never {
    const { key, source, origin } = this.origin(field);
    throw new ConfigError({ key, source, origin, reason });
  }

  /** Of two fields in a conflict, the one set by the later source (the user's latest word). */
  later(a: keyof BrokerConfig, b: keyof BrokerConfig): keyof BrokerConfig {
    return sourceRank[this.origin(b).source] > sourceRank[this.origin(a).source] ? b : a;
  }
}

/**
 * The defaults with `overrides` applied (fields left undefined keep their default; properties
 * that are not BrokerConfig fields, such as a `logger`, are ignored), validated like a loaded
 * configuration. For embedding: `Broker.start` and tests.
 */
export function defaultConfig(overrides: Partial<BrokerConfig> = {}): BrokerConfig {
  const resolution = new Resolution();
  for (const field of fieldNames) {
    const value = overrides[field];
    if (value !== undefined) {
      resolution.set({ [field]: value }, { source: 'override', key: field, origin: `option ${field}` });
    }
  }
  return finish(resolution);
}

/**
 * Builds the broker configuration from, later winning: defaults < the JSON file < `GOQUEUE_*`
 * environment variables < CLI flags. Throws ConfigError naming the key, the reason and the
 * source of the first bad value.
 */
export function loadConfig(options: LoadConfigOptions = {}): BrokerConfig {
  const resolution = new Resolution();
  const cwd = options.cwd ?? process.cwd();
  if (options.file !== undefined) {
    const origin = `config file ${options.file}`;
    applySource(resolution, 'file', readConfigFile(options.file, resolve(cwd, options.file)), () => origin);
  }
  if (options.env !== undefined) {
    applySource(resolution, 'env', readEnvironment(options.env, options.onWarning), (spec) => {
      return `environment variable ${spec.env}`;
    });
  }
  if (options.flags !== undefined) {
    applySource(resolution, 'flag', readFlags(options.flags), (spec) => `flag ${spec.flag}`);
  }
  const config = resolution.config;
  config.dataDir = typeof config.dataDir === 'string' ? resolve(cwd, config.dataDir) : config.dataDir;
  if (typeof config.logFile === 'string') config.logFile = resolve(cwd, config.logFile);
  const finished = finish(resolution);
  const sizeWarning = controllerSizeWarning(finished);
  if (sizeWarning !== undefined) options.onWarning?.(sizeWarning);
  return finished;
}

function applySource(
  resolution: Resolution,
  source: ConfigSource,
  values: Map<ConfigKey, unknown>,
  originOf: (spec: ConfigKey) => string,
): void {
  // Table order, so that a specific key (server.port) refines a general one (client_addr).
  for (const spec of CONFIG_KEYS) {
    if (!values.has(spec)) continue;
    const origin = originOf(spec);
    let fields: Partial<BrokerConfig>;
    try {
      fields = spec.read(values.get(spec));
    } catch (error) {
      if (!(error instanceof ValueError)) throw error;
      throw new ConfigError({ key: spec.key, source, origin, reason: error.message });
    }
    resolution.set(fields, { source, key: spec.key, origin });
  }
}

const keysByName = new Map(CONFIG_KEYS.map((spec) => [spec.key, spec]));
/** Objects in the file that group keys: `server` for `server.port`, `server.log_file`, … */
const sections = new Set(
  CONFIG_KEYS.filter((spec) => spec.key.includes('.')).map((spec) => spec.key.split('.')[0]!),
);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `file` is the path as the user wrote it (for messages), `path` the one to read. */
function readConfigFile(file: string, path: string): Map<ConfigKey, unknown> {
  const origin = `config file ${file}`;
  const fail = (key: string, reason: string, message?: string): never => {
    throw new ConfigError({ key, source: 'file', origin, reason, ...(message ? { message } : {}) });
  };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String(error);
    return fail('config', why, `cannot read config file ${file}: ${why}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    const why = `not valid JSON (${(error as Error).message})`;
    return fail('config', why, `config file ${file} is ${why}`);
  }
  if (!isPlainObject(json)) {
    return fail(
      'config',
      'the top level must be a JSON object',
      `config file ${file}: the top level must be a JSON object`,
    );
  }
  const values = new Map<ConfigKey, unknown>();
  const visit = (object: Record<string, unknown>, prefix: string): void => {
    for (const [name, value] of Object.entries(object)) {
      const key = prefix + name;
      const spec = keysByName.get(key);
      if (spec === undefined && prefix === '' && sections.has(name)) {
        if (!isPlainObject(value)) {
          const inside = CONFIG_KEYS.filter((candidate) => candidate.key.startsWith(`${name}.`));
          fail(
            name,
            `must be an object (with ${inside.map((candidate) => candidate.key.slice(name.length + 1)).join(', ')})`,
          );
        }
        visit(value as Record<string, unknown>, `${name}.`);
        continue;
      }
      if (spec === undefined) {
        const suggestion = closest(key, [...keysByName.keys()]);
        const hint = suggestion ? `; did you mean "${suggestion}"?` : '';
        fail(key, `unknown key${hint}`, `unknown key "${key}" in ${origin}${hint}`);
        continue;
      }
      if (values.has(spec)) fail(key, 'given twice (nested and dotted)');
      values.set(spec, value);
    }
  };
  visit(json, '');
  return values;
}

function readEnvironment(
  env: Record<string, string | undefined>,
  onWarning: ((message: string) => void) | undefined,
): Map<ConfigKey, unknown> {
  const values = new Map<ConfigKey, unknown>();
  const envNames = CONFIG_KEYS.map((spec) => spec.env);
  for (const spec of CONFIG_KEYS) {
    const value = env[spec.env];
    // An empty variable counts as unset, as shells and compose files often leave them.
    if (value !== undefined && value !== '') values.set(spec, value);
  }
  for (const name of Object.keys(env)) {
    if (!name.startsWith('GOQUEUE_') || envNames.includes(name) || envOutsideTable.has(name)) continue;
    const suggestion = closest(name, envNames);
    onWarning?.(
      `ignoring unknown environment variable ${name}${suggestion ? `; did you mean ${suggestion}?` : ''}`,
    );
  }
  return values;
}

function camelCase(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function readFlags(flags: BrokerFlags): Map<ConfigKey, unknown> {
  const values = new Map<ConfigKey, unknown>();
  const byName = new Map(
    CONFIG_KEYS.filter((spec) => spec.flag !== null).map((spec) => [camelCase(spec.flag!), spec]),
  );
  for (const [name, value] of Object.entries(flags)) {
    if (value === undefined || name === 'config') continue;
    const spec = byName.get(name);
    if (spec === undefined) {
      throw new ConfigError({ key: name, source: 'flag', origin: 'flags', reason: 'not a broker flag' });
    }
    values.set(spec, value);
  }
  return values;
}

/**
 * Fewest Raft ticks in an election timeout. The leader heartbeats every tick; with fewer than
 * three, one delayed heartbeat is enough for a follower to campaign and depose a live leader.
 */
const minimumElectionTicks = 3;

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/**
 * The address advertised when none is configured: the listener's, except that a wildcard
 * listener (0.0.0.0, ::) cannot be advertised, so, like Kafka, this machine's name is used.
 * Port 0 stays 0: the broker advertises the port it bound.
 */
export function advertisedAddressFor(clientHost: string, clientPort: number): { host: string; port: number } {
  return { host: isWildcard(clientHost) ? hostname() : clientHost, port: clientPort };
}

/** Derived values, then the field rules, then the rules that relate two keys. */
function finish(resolution: Resolution): BrokerConfig {
  const config = resolution.config;
  const derived = advertisedAddressFor(config.clientHost, config.clientPort);
  if (resolution.isDefault('advertisedHost')) {
    resolution.set({ advertisedHost: derived.host }, resolution.origin('clientHost'));
  }
  if (resolution.isDefault('advertisedPort')) {
    resolution.set({ advertisedPort: derived.port }, resolution.origin('clientPort'));
  }
  const own = config.initialCluster.find?.((member) => member.brokerId === config.brokerId);
  if (own !== undefined && resolution.isDefault('raftHost') && resolution.isDefault('raftPort')) {
    resolution.set({ raftHost: own.raftHost, raftPort: own.raftPort }, resolution.origin('initialCluster'));
  }

  for (const field of fieldNames) {
    const rule = FIELD_RULES[field] as (value: unknown) => string | undefined;
    const reason = rule(config[field]);
    if (reason !== undefined) resolution.fail(field, reason);
  }

  if (config.segmentBytes < config.maxMessageBytes) {
    const field = resolution.later('segmentBytes', 'maxMessageBytes');
    resolution.fail(
      field,
      field === 'segmentBytes'
        ? `${config.segmentBytes} is smaller than max_message_size (${config.maxMessageBytes}): a segment must hold the largest batch`
        : `${config.maxMessageBytes} is larger than segment_size (${config.segmentBytes}): a segment must hold the largest batch`,
    );
  }
  if (config.defaultPartitions > config.maxTopicPartitions) {
    const field = resolution.later('maxTopicPartitions', 'defaultPartitions');
    resolution.fail(
      field,
      field === 'defaultPartitions'
        ? `${config.defaultPartitions} exceeds max_topic_partitions (${config.maxTopicPartitions})`
        : `${config.maxTopicPartitions} is below default_partitions (${config.defaultPartitions})`,
    );
  }
  if (config.initialCluster.length > 0) {
    if (own === undefined) {
      resolution.fail(
        'initialCluster',
        `does not list this broker (broker_id ${config.brokerId}): add ` +
          `"${config.brokerId}=<its raft host:port>" on every member, or start it with join ` +
          'to add it to a running cluster',
      );
    }
    const hostsDiffer =
      own.raftHost.toLowerCase() !== config.raftHost.toLowerCase() && !isWildcard(config.raftHost);
    if (own.raftPort !== config.raftPort || hostsDiffer) {
      resolution.fail(
        'raftHost',
        `${formatHostPort(config.raftHost, config.raftPort)} differs from initial_cluster's address for broker ` +
          `${own.brokerId} (${formatHostPort(own.raftHost, own.raftPort)}); give the same address, or leave ` +
          "raft_addr out to take the list's",
      );
    }
  }
  if (config.joinAddress !== null) {
    if (config.initialCluster.length > 0) {
      const field = resolution.later('initialCluster', 'joinAddress');
      resolution.fail(
        field,
        'join and initial_cluster exclude each other: initial_cluster forms a new cluster, join ' +
          'adds this broker to a running one',
      );
    }
    const { host, port } = config.joinAddress;
    if (port === config.raftPort && host.toLowerCase() === config.raftHost.toLowerCase()) {
      resolution.fail(
        'joinAddress',
        `${formatHostPort(host, port)} is this broker's own raft_addr: give another member's address`,
      );
    }
  }
  if (electionTicks(config) < minimumElectionTicks) {
    const field = resolution.later('raftTickMs', 'electionTimeoutMs');
    resolution.fail(
      field,
      `election_timeout (${config.electionTimeoutMs} ms) must be at least ${minimumElectionTicks} ` +
        `raft_tick periods (${config.raftTickMs} ms each), or followers campaign between heartbeats`,
    );
  }
  if (config.brokerSessionTimeoutMs < 2 * config.brokerHeartbeatIntervalMs) {
    const field = resolution.later('brokerHeartbeatIntervalMs', 'brokerSessionTimeoutMs');
    resolution.fail(
      field,
      `broker_session_timeout (${config.brokerSessionTimeoutMs} ms) must be at least twice ` +
        `broker_heartbeat_interval (${config.brokerHeartbeatIntervalMs} ms), or one late heartbeat fences a live broker`,
    );
  }
  const overlaps = (host: string, port: number, otherHost: string, otherPort: number): boolean =>
    port !== 0 && port === otherPort && (host === otherHost || isWildcard(host) || isWildcard(otherHost));
  if (overlaps(config.raftHost, config.raftPort, config.clientHost, config.clientPort)) {
    const field = resolution.later('clientPort', 'raftPort');
    resolution.fail(field, `the Kafka listener and the Raft listener both use port ${config.raftPort}`);
  }
  if (config.httpPort > 0 && (config.httpPort === config.clientPort || config.httpPort === config.raftPort)) {
    resolution.fail('httpPort', `port ${config.httpPort} is already taken by the Kafka or Raft listener`);
  }
  return config;
}
