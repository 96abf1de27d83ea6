import { formatHostPort } from './cluster-members.js';
import type { BrokerConfig, InitialClusterMember } from './types.js';
import {
  parseAddress,
  parseBoolean,
  parseBrokerId,
  parseChoice,
  parseDuration,
  parseHost,
  parseInitialCluster,
  parseInteger,
  parseLabel,
  parsePort,
  parseSize,
  parseText,
  type ValueError,
} from './values.js';

/**
 * The configuration keys a user can set. One table drives the JSON file, the environment and
 * the CLI flags, so the three cannot drift apart:
 * - `key` is the JSON file key (the original go-queue's names; a dot means a nested object: `server.port` is
 *   `{ "server": { "port": … } }`).
 * - the environment variable is derived mechanically: `GOQUEUE_` + the key upper-cased with dots
 *   turned into underscores (`server.port` → `GOQUEUE_SERVER_PORT`).
 * - `flag` is the `goqueue broker` option, for the keys that have one.
 * Within one source the keys apply in table order, so a specific key (`server.port`) overrides
 * the matching part of a general one (`client_addr`).
 */
export interface ConfigKey {
  key: string;
  env: string;
  /** Long option of `goqueue broker` (`--data-dir`), or null when the key has none. */
  flag: string | null;
  /** Value form, for help and docs: integer, size, duration, boolean, address, … */
  type: string;
  description: string;
  /** Converts a raw value to the fields it sets; throws ValueError with the reason. */
  read(raw: unknown): Partial<BrokerConfig>;
}

export const compressionTypes = ['none', 'gzip', 'snappy', 'lz4', 'zstd', 'producer'] as const;
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** `server.port` → `GOQUEUE_SERVER_PORT`. */
export function envNameFor(key: string): string {
  return 'GOQUEUE_' + key.toUpperCase().replace(/\./g, '_');
}

type KeyDraft = Omit<ConfigKey, 'env' | 'flag'> & { flag?: string };

/** Reads `host:port` into a host field and a port field. */
function readAddress<H extends keyof BrokerConfig, P extends keyof BrokerConfig>(hostField: H, portField: P) {
  return (raw: unknown): Partial<BrokerConfig> => {
    const { host, port } = parseAddress(raw);
    return { [hostField]: host, [portField]: port };
  };
}

const drafts: KeyDraft[] = [
  {
    key: 'broker_id',
    flag: '--broker-id',
    type: 'broker id',
    description: 'This broker\'s id, unique in the cluster ("broker1" reads as 1)',
    read: (raw) => ({ brokerId: parseBrokerId(raw) }),
  },
  {
    key: 'data_dir',
    flag: '--data-dir',
    type: 'path',
    description: 'Directory holding every partition log and the Raft state',
    read: (raw) => ({ dataDir: parseText(raw) }),
  },
  {
    key: 'client_addr',
    flag: '--client-addr',
    type: 'address',
    description: 'Kafka listener host:port (port 0 picks a free port)',
    read: readAddress('clientHost', 'clientPort'),
  },
  {
    key: 'server.host',
    type: 'host',
    description: 'Host part of the Kafka listener',
    read: (raw) => ({ clientHost: parseHost(raw) }),
  },
  {
    key: 'server.port',
    type: 'port',
    description: 'Port of the Kafka listener (0 picks a free port)',
    read: (raw) => ({ clientPort: parsePort(raw) }),
  },
  {
    key: 'advertised_addr',
    flag: '--advertised-addr',
    type: 'address',
    description: 'host:port clients are told to connect to (Metadata responses)',
    read: readAddress('advertisedHost', 'advertisedPort'),
  },
  {
    key: 'raft_addr',
    flag: '--raft-addr',
    type: 'address',
    description: 'Inter-broker (Raft) listener host:port',
    read: readAddress('raftHost', 'raftPort'),
  },
  {
    key: 'initial_cluster',
    flag: '--initial-cluster',
    type: 'member list',
    description:
      'Founding members id=raft-host:port,..., this broker included; the same list on every member',
    read: (raw) => ({ initialCluster: parseInitialCluster(raw) }),
  },
  {
    key: 'initial_cluster_token',
    flag: '--initial-cluster-token',
    type: 'text',
    description: 'Name mixed into the cluster id, so clusters formed from one member list stay apart',
    read: (raw) => ({ initialClusterToken: parseLabel(raw, labelLengthMax) }),
  },
  {
    key: 'join',
    flag: '--join',
    type: 'address',
    description: "A running cluster member's Raft host:port to join through, as a controller learner",
    read: (raw) => ({ joinAddress: raw === null || raw === '' ? null : parseAddress(raw) }),
  },
  {
    key: 'broker.rack',
    flag: '--rack',
    type: 'text',
    description: 'Rack or zone of this broker; replicas of a partition are spread across racks',
    read: (raw) => ({ rack: raw === null || raw === '' ? null : parseLabel(raw, labelLengthMax) }),
  },
  {
    key: 'broker_session_timeout',
    flag: '--broker-session-timeout',
    type: 'duration',
    description: 'A broker whose heartbeats the controller misses this long is fenced',
    read: (raw) => ({ brokerSessionTimeoutMs: parseDuration(raw) }),
  },
  {
    key: 'broker_heartbeat_interval',
    type: 'duration',
    description: 'How often a broker heartbeats to the controller leader',
    read: (raw) => ({ brokerHeartbeatIntervalMs: parseDuration(raw) }),
  },
  {
    key: 'raft_tick',
    type: 'duration',
    description: 'Raft tick period, shared by every Raft group on the broker',
    read: (raw) => ({ raftTickMs: parseDuration(raw) }),
  },
  {
    key: 'election_timeout',
    type: 'duration',
    description: 'A follower that hears no leader this long (randomised up to twice it) campaigns',
    read: (raw) => ({ electionTimeoutMs: parseDuration(raw) }),
  },
  {
    key: 'segment_size',
    type: 'size',
    description: 'A log segment is rolled when it reaches this size',
    read: (raw) => ({ segmentBytes: parseSize(raw) }),
  },
  {
    key: 'segment_time',
    type: 'duration',
    description: 'A log segment is rolled when its first batch is this old',
    read: (raw) => ({ segmentMs: parseDuration(raw) }),
  },
  {
    key: 'retention_time',
    type: 'duration or -1',
    description: 'Closed segments older than this are deleted; -1 keeps them forever',
    read: (raw) => ({ retentionMs: parseDuration(raw, { allowForever: true }) }),
  },
  {
    key: 'max_storage_size',
    type: 'size or -1',
    description: 'Per-partition size cap; the oldest segments are deleted above it; -1: no cap',
    read: (raw) => ({ retentionBytes: parseSize(raw, { allowUnlimited: true }) }),
  },
  {
    key: 'flush_interval',
    type: 'duration',
    description:
      'With fsync_enabled false: sync the logs at least this often while writes come; 0 never. Acks never wait for it',
    read: (raw) => ({ flushIntervalMs: parseDuration(raw) }),
  },
  {
    key: 'fsync_enabled',
    type: 'boolean',
    description: 'false acknowledges writes before they reach the disk (unsafe)',
    read: (raw) => ({ fsyncEnabled: parseBoolean(raw) }),
  },
  {
    key: 'cleanup_interval',
    type: 'duration',
    description: 'How often retention deletes old segments',
    read: (raw) => ({ cleanupIntervalMs: parseDuration(raw) }),
  },
  {
    key: 'max_message_size',
    type: 'size',
    description: 'Largest accepted record batch',
    read: (raw) => ({ maxMessageBytes: parseSize(raw) }),
  },
  {
    key: 'max_request_size',
    type: 'size',
    description: 'Largest accepted request frame (a Produce request carries many batches)',
    read: (raw) => ({ maxRequestBytes: parseSize(raw) }),
  },
  {
    key: 'queued_max_request_bytes',
    type: 'size',
    description: 'Request bytes all connections may hold at once; past it the broker stops reading',
    read: (raw) => ({ queuedMaxRequestBytes: parseSize(raw) }),
  },
  {
    key: 'max_connections',
    type: 'integer',
    description: 'Open client connections; more are closed as they arrive',
    read: (raw) => ({ maxConnections: parseInteger(raw) }),
  },
  {
    key: 'max_connections_per_ip',
    type: 'integer',
    description: 'Open client connections from one IP address',
    read: (raw) => ({ maxConnectionsPerIp: parseInteger(raw) }),
  },
  {
    key: 'connections_max_idle',
    type: 'duration',
    description: 'A client connection with no request for this long is closed',
    read: (raw) => ({ connectionsMaxIdleMs: parseDuration(raw) }),
  },
  {
    key: 'request_read_timeout',
    type: 'duration',
    description: 'A started request frame must arrive whole within this long, or the connection closes',
    read: (raw) => ({ requestReadTimeoutMs: parseDuration(raw) }),
  },
  {
    key: 'min_free_bytes',
    type: 'size',
    description: 'Produce is refused (KAFKA_STORAGE_ERROR) while the data disk has less free space',
    read: (raw) => ({ minFreeBytes: parseSize(raw) }),
  },
  {
    key: 'scrub_rate',
    type: 'size',
    description: 'Bytes per second the scrubber re-reads to verify closed segments (0 disables it)',
    read: (raw) => ({ scrubBytesPerSecond: parseSize(raw) }),
  },
  {
    key: 'compression_enabled',
    type: 'boolean',
    description: 'Let the broker recompress batches into compression_type',
    read: (raw) => ({ compressionEnabled: parseBoolean(raw) }),
  },
  {
    key: 'compression_type',
    type: compressionTypes.join(' | '),
    description: "Codec the broker stores; producer keeps the producer's codec",
    read: (raw) => ({ compressionType: parseChoice(raw, compressionTypes) }),
  },
  {
    key: 'compression_threshold',
    type: 'size',
    description: 'Batches smaller than this are not recompressed',
    read: (raw) => ({ compressionThresholdBytes: parseSize(raw) }),
  },
  {
    key: 'deduplication_enabled',
    type: 'boolean',
    description:
      'Content-hash de-duplication: a batch from a producer that is not idempotent whose every record (key, value, headers) is already stored in the partition within the window is answered with the original offset and not stored',
    read: (raw) => ({ deduplicationEnabled: parseBoolean(raw) }),
  },
  {
    key: 'deduplication_window',
    type: 'duration',
    description: 'How long a stored record counts as the original of a later identical one',
    read: (raw) => ({ deduplicationWindowMs: parseDuration(raw) }),
  },
  {
    key: 'deduplication_window_records',
    type: 'integer',
    description: 'Records per partition the de-duplication window remembers (about 120 bytes each)',
    read: (raw) => ({ deduplicationWindowRecords: parseInteger(raw) }),
  },
  {
    key: 'producer_id_expiration',
    type: 'duration',
    description:
      "An idempotent producer without a batch for this long is forgotten (Kafka's producer.id.expiration.ms)",
    read: (raw) => ({ producerIdExpirationMs: parseDuration(raw) }),
  },
  {
    key: 'offsets_topic_num_partitions',
    type: 'integer',
    description: 'Partitions of the internal consumer groups topic (fixed once it exists)',
    read: (raw) => ({ offsetsTopicPartitions: parseInteger(raw) }),
  },
  {
    key: 'offsets_topic_replication_factor',
    type: 'integer',
    description: 'Replicas of each consumer groups partition (capped by the live brokers)',
    read: (raw) => ({ offsetsTopicReplicationFactor: parseInteger(raw) }),
  },
  {
    key: 'offsets_retention_minutes',
    type: 'integer',
    description: 'A consumer group without members or commits this long is deleted',
    read: (raw) => ({ offsetsRetentionMs: parseInteger(raw) * 60_000 }),
  },
  {
    key: 'enable_follower_read',
    type: 'boolean',
    description: 'Followers serve Fetch up to the committed offset',
    read: (raw) => ({ enableFollowerRead: parseBoolean(raw) }),
  },
  {
    key: 'follower_read_consistency',
    type: 'relaxed | strict',
    description: 'relaxed: followers serve up to the high watermark they know; strict: ReadIndex',
    read: (raw) => ({ followerReadConsistency: parseChoice(raw, ['relaxed', 'strict'] as const) }),
  },
  {
    key: 'replica_replace_after',
    type: 'duration',
    description: 'A broker fenced this long has its replicas moved to live brokers',
    read: (raw) => ({ replicaReplaceAfterMs: parseDuration(raw) }),
  },
  {
    key: 'max_replica_moves',
    type: 'integer',
    description: 'Partitions moving replicas at once, cluster-wide',
    read: (raw) => ({ maxReplicaMoves: parseInteger(raw) }),
  },
  {
    key: 'leader_balance_interval',
    type: 'duration',
    description: 'How often leadership goes back to preferred replicas (0: never)',
    read: (raw) => ({ leaderBalanceIntervalMs: parseDuration(raw) }),
  },
  {
    key: 'leader_imbalance_percent',
    type: 'integer',
    description: 'A broker leading this much more than its share triggers leader balancing',
    read: (raw) => ({ leaderImbalancePercent: parseInteger(raw) }),
  },
  {
    key: 'controller_voters',
    type: 'integer',
    description: 'Voters the controller group grows to as brokers join (1, 3 or 5)',
    read: (raw) => ({ controllerVoters: parseInteger(raw) }),
  },
  {
    key: 'replica_balance',
    type: 'boolean',
    description: 'Move replicas to brokers holding less than their share (a joined broker)',
    read: (raw) => ({ replicaBalance: parseBoolean(raw) }),
  },
  {
    key: 'replica_imbalance_percent',
    type: 'integer',
    description: 'A broker this many percent off its share of replicas triggers replica balancing',
    read: (raw) => ({ replicaImbalancePercent: parseInteger(raw) }),
  },
  {
    key: 'max_topic_partitions',
    type: 'integer',
    description: 'Most partitions one topic may have',
    read: (raw) => ({ maxTopicPartitions: parseInteger(raw) }),
  },
  {
    key: 'auto_create_topics',
    flag: '--auto-create-topics',
    type: 'boolean',
    description: 'Create a topic when a client produces to or asks metadata for an unknown one',
    read: (raw) => ({ autoCreateTopics: parseBoolean(raw) }),
  },
  {
    key: 'default_partitions',
    type: 'integer',
    description: 'Partitions of an auto-created topic or a CreateTopics request that gives none',
    read: (raw) => ({ defaultPartitions: parseInteger(raw) }),
  },
  {
    key: 'default_replication_factor',
    type: 'integer',
    description: 'Replicas of an auto-created topic or a CreateTopics request that gives none',
    read: (raw) => ({ defaultReplicationFactor: parseInteger(raw) }),
  },
  {
    key: 'server.http_port',
    type: 'port or -1',
    description: 'Admin HTTP listener (health, metrics); 0 picks a free port, -1 disables it',
    read: (raw) => ({ httpPort: parseInteger(raw) }),
  },
  {
    key: 'log_level',
    flag: '--log-level',
    type: logLevels.join(' | '),
    description: 'Least severe log level written',
    read: (raw) => ({ logLevel: parseChoice(raw, logLevels) }),
  },
  {
    key: 'server.log_file',
    flag: '--log-file',
    type: 'path or null',
    description: 'Write JSON logs to this file instead of stdout',
    read: (raw) => ({ logFile: raw === null || raw === '' ? null : parseText(raw) }),
  },
];

export const CONFIG_KEYS: readonly ConfigKey[] = drafts.map((draft) => ({
  ...draft,
  env: envNameFor(draft.key),
  flag: draft.flag ?? null,
}));

/** The JSON key named in messages about a field (the key most users set it with). */
export const FIELD_KEYS: Record<keyof BrokerConfig, string> = {
  brokerId: 'broker_id',
  dataDir: 'data_dir',
  clientHost: 'server.host',
  clientPort: 'server.port',
  advertisedHost: 'advertised_addr',
  advertisedPort: 'advertised_addr',
  raftHost: 'raft_addr',
  raftPort: 'raft_addr',
  initialCluster: 'initial_cluster',
  initialClusterToken: 'initial_cluster_token',
  joinAddress: 'join',
  rack: 'broker.rack',
  brokerSessionTimeoutMs: 'broker_session_timeout',
  brokerHeartbeatIntervalMs: 'broker_heartbeat_interval',
  raftTickMs: 'raft_tick',
  electionTimeoutMs: 'election_timeout',
  segmentBytes: 'segment_size',
  segmentMs: 'segment_time',
  retentionMs: 'retention_time',
  retentionBytes: 'max_storage_size',
  flushIntervalMs: 'flush_interval',
  fsyncEnabled: 'fsync_enabled',
  cleanupIntervalMs: 'cleanup_interval',
  maxMessageBytes: 'max_message_size',
  maxRequestBytes: 'max_request_size',
  queuedMaxRequestBytes: 'queued_max_request_bytes',
  maxConnections: 'max_connections',
  maxConnectionsPerIp: 'max_connections_per_ip',
  connectionsMaxIdleMs: 'connections_max_idle',
  requestReadTimeoutMs: 'request_read_timeout',
  minFreeBytes: 'min_free_bytes',
  scrubBytesPerSecond: 'scrub_rate',
  compressionEnabled: 'compression_enabled',
  compressionType: 'compression_type',
  compressionThresholdBytes: 'compression_threshold',
  deduplicationEnabled: 'deduplication_enabled',
  deduplicationWindowMs: 'deduplication_window',
  deduplicationWindowRecords: 'deduplication_window_records',
  producerIdExpirationMs: 'producer_id_expiration',
  offsetsTopicPartitions: 'offsets_topic_num_partitions',
  offsetsTopicReplicationFactor: 'offsets_topic_replication_factor',
  offsetsRetentionMs: 'offsets_retention_minutes',
  enableFollowerRead: 'enable_follower_read',
  followerReadConsistency: 'follower_read_consistency',
  replicaReplaceAfterMs: 'replica_replace_after',
  maxReplicaMoves: 'max_replica_moves',
  leaderBalanceIntervalMs: 'leader_balance_interval',
  leaderImbalancePercent: 'leader_imbalance_percent',
  controllerVoters: 'controller_voters',
  replicaBalance: 'replica_balance',
  replicaImbalancePercent: 'replica_imbalance_percent',
  maxTopicPartitions: 'max_topic_partitions',
  autoCreateTopics: 'auto_create_topics',
  defaultPartitions: 'default_partitions',
  defaultReplicationFactor: 'default_replication_factor',
  httpPort: 'server.http_port',
  logLevel: 'log_level',
  logFile: 'server.log_file',
};

const int32Max = 2 ** 31 - 1;
/** Longest rack name or cluster token (both travel in length-prefixed protocol strings). */
const labelLengthMax = 255;

function range(value: number, min: number, max: number, why = ''): string | undefined {
  if (!Number.isSafeInteger(value)) return `${value} is not a whole number`;
  if (value < min || value > max) return `${value} is out of range (${min} to ${max})${why}`;
  return undefined;
}

/** A positive whole number, or -1 for "no limit"; `minusOne` says what -1 means for the key. */
function positiveOrMinusOne(value: number, unit: string, minusOne: string): string | undefined {
  if (value === -1) return undefined;
  if (!Number.isSafeInteger(value) || value < 1) {
    return `${value} is not allowed: use a positive ${unit}, or -1 to ${minusOne}`;
  }
  return undefined;
}

function isOneOf(value: unknown, choices: readonly string[]): string | undefined {
  return choices.includes(value as string)
    ? undefined
    : `${String(value)} is not one of ${choices.join(', ')}`;
}

function isBoolean(value: unknown): string | undefined {
  return typeof value === 'boolean' ? undefined : `${String(value)} is not a boolean`;
}

function isLabel(value: unknown): string | undefined {
  try {
    parseLabel(value, labelLengthMax);
    return undefined;
  } catch (error) {
    return (error as ValueError).message;
  }
}

/** The list as `parseInitialCluster` would check it (for members given as objects, not text). */
function isMemberList(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'must be a list of members';
  try {
    const entries = (value as InitialClusterMember[]).map(
      (member) => `${member.brokerId}=${formatHostPort(member.raftHost, member.raftPort)}`,
    );
    parseInitialCluster(entries);
    return undefined;
  } catch (error) {
    return (error as ValueError).message;
  }
}

function isHost(value: unknown): string | undefined {
  try {
    parseHost(value);
    return undefined;
  } catch (error) {
    return (error as ValueError).message;
  }
}

/**
 * Range rules on the resolved fields, checked whatever source set them (a file, the
 * environment, a flag, or `defaultConfig` overrides). Each returns the reason or undefined.
 */
export const FIELD_RULES: { [F in keyof BrokerConfig]: (value: BrokerConfig[F]) => string | undefined } = {
  brokerId: (v) => range(v, 0, int32Max, ' (Kafka broker ids are int32)'),
  dataDir: (v) => (typeof v === 'string' && v.trim() !== '' ? undefined : 'must be a non-empty path'),
  clientHost: isHost,
  clientPort: (v) => range(v, 0, 65535),
  advertisedHost: (v) =>
    isHost(v) ??
    (v === '0.0.0.0' || v === '::' ? `${v} cannot be advertised: clients cannot connect to it` : undefined),
  advertisedPort: (v) => range(v, 0, 65535),
  raftHost: isHost,
  raftPort: (v) => range(v, 0, 65535),
  initialCluster: isMemberList,
  initialClusterToken: isLabel,
  joinAddress: (v) =>
    v === null
      ? undefined
      : (isHost(v.host) ?? range(v.port, 1, 65535, " (port 0 cannot be dialled: give the member's port)")),
  rack: (v) => (v === null ? undefined : isLabel(v)),
  brokerSessionTimeoutMs: (v) => range(v, 100, 3_600_000),
  brokerHeartbeatIntervalMs: (v) => range(v, 10, 60_000),
  raftTickMs: (v) => range(v, 1, 10_000),
  electionTimeoutMs: (v) => range(v, 1, 60_000),
  segmentBytes: (v) => range(v, 1024, int32Max, ' (positions in a segment are 32-bit, as in Kafka)'),
  segmentMs: (v) => range(v, 1, Number.MAX_SAFE_INTEGER),
  retentionMs: (v) => positiveOrMinusOne(v, 'duration', 'keep segments forever'),
  retentionBytes: (v) => positiveOrMinusOne(v, 'size', 'set no size cap'),
  flushIntervalMs: (v) =>
    range(v, 0, 60_000, ' (acknowledgements wait for the fsync, so a long cycle stalls producers)'),
  fsyncEnabled: isBoolean,
  cleanupIntervalMs: (v) => range(v, 1, Number.MAX_SAFE_INTEGER),
  maxMessageBytes: (v) => range(v, 1024, 2 ** 30),
  maxRequestBytes: (v) => range(v, 1024, 2 ** 30, ' (a whole request frame is held in memory)'),
  queuedMaxRequestBytes: (v) =>
    range(v, 1024, Number.MAX_SAFE_INTEGER, ' (raised to max_request_size when below it)'),
  maxConnections: (v) => range(v, 1, 10_000_000),
  maxConnectionsPerIp: (v) => range(v, 1, 10_000_000),
  connectionsMaxIdleMs: (v) => range(v, 10, Number.MAX_SAFE_INTEGER),
  requestReadTimeoutMs: (v) => range(v, 10, Number.MAX_SAFE_INTEGER),
  minFreeBytes: (v) => range(v, 0, Number.MAX_SAFE_INTEGER),
  scrubBytesPerSecond: (v) => range(v, 0, Number.MAX_SAFE_INTEGER),
  compressionEnabled: isBoolean,
  compressionType: (v) => isOneOf(v, compressionTypes),
  compressionThresholdBytes: (v) => range(v, 0, Number.MAX_SAFE_INTEGER),
  deduplicationEnabled: isBoolean,
  deduplicationWindowMs: (v) => range(v, 1, Number.MAX_SAFE_INTEGER),
  deduplicationWindowRecords: (v) =>
    range(v, 1, 10_000_000, ' (about 120 bytes of memory each, per partition)'),
  producerIdExpirationMs: (v) => range(v, 1_000, Number.MAX_SAFE_INTEGER, ' milliseconds: at least 1 second'),
  offsetsTopicPartitions: (v) => range(v, 1, 1000),
  offsetsTopicReplicationFactor: (v) => range(v, 1, 32767),
  offsetsRetentionMs: (v) => range(v, 60_000, Number.MAX_SAFE_INTEGER, ' milliseconds: at least 1 minute'),
  enableFollowerRead: isBoolean,
  followerReadConsistency: (v) => isOneOf(v, ['relaxed', 'strict']),
  replicaReplaceAfterMs: (v) => range(v, 0, Number.MAX_SAFE_INTEGER),
  maxReplicaMoves: (v) => range(v, 1, 100_000),
  leaderBalanceIntervalMs: (v) => range(v, 0, Number.MAX_SAFE_INTEGER),
  leaderImbalancePercent: (v) => range(v, 0, 1000),
  controllerVoters: (v) => (v === 1 || v === 3 || v === 5 ? undefined : `${String(v)} is not one of 1, 3, 5`),
  replicaBalance: isBoolean,
  replicaImbalancePercent: (v) => range(v, 0, 100),
  maxTopicPartitions: (v) => range(v, 1, int32Max),
  autoCreateTopics: isBoolean,
  defaultPartitions: (v) => range(v, 1, int32Max),
  defaultReplicationFactor: (v) => range(v, 1, 32767, ' (Kafka replication factors are int16)'),
  httpPort: (v) => range(v, -1, 65535),
  logLevel: (v) => isOneOf(v, logLevels),
  logFile: (v) =>
    v === null || (typeof v === 'string' && v.trim() !== '') ? undefined : 'must be a path or null',
};

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The candidate closest to `name`, if it is close enough to be a likely typo. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
