/**
 * A broker's resolved configuration. `src/config/load.ts` builds it from defaults, the seed's JSON
 * config file keys, `GOQUEUE_*` environment variables and CLI flags (later wins), and validates
 * it; everything else receives this plain object. Units are last in every name.
 */
/** One entry of `initial_cluster`: a founding member and the address its Raft listener has. */
export interface InitialClusterMember {
  brokerId: number;
  raftHost: string;
  raftPort: number;
}

export interface BrokerConfig {
  /** This broker's id (`broker_id`, `--broker-id`; the original's `broker1` form reads as 1). */
  brokerId: number;
  /** Root of all data (`data_dir`, `--data-dir`), default `./goqueue-data`. */
  dataDir: string;
  /** Kafka listener (`server.port` / `--client-addr host:port`); port 0 picks a free port. */
  clientHost: string;
  clientPort: number;
  /** Address clients are told to connect to (Metadata); defaults to clientHost:clientPort. */
  advertisedHost: string;
  advertisedPort: number;
  /** Inter-broker Raft listener (`--raft-addr host:port`). */
  raftHost: string;
  raftPort: number;
  /**
   * The cluster's founding members `id=host:port,...` (`initial_cluster`, `--initial-cluster`), in
   * the order given; when not empty it lists this broker with its `raftHost:raftPort`. Empty: a
   * cluster of one (this broker), or a broker joining a running cluster (`joinAddress`). Read only
   * when the data directory is new: afterwards the membership is the controller's. The
   * controller's voters among them: `controllerVoters` (src/config/cluster-members.ts).
   */
  initialCluster: InitialClusterMember[];
  /**
   * Keeps clusters formed from the same member list apart (`initial_cluster_token`,
   * `--initial-cluster-token`); an input of the cluster id. Default `goqueue-cluster`.
   */
  initialClusterToken: string;
  /**
   * A running cluster's member (its Raft address) through which this broker joins as a
   * controller learner (`join`, `--join`); null when it founds a cluster. Excludes
   * `initialCluster`.
   */
  joinAddress: { host: string; port: number } | null;
  /** Rack or zone of this broker (`broker.rack`, `--rack`), for replica placement; null = none. */
  rack: string | null;
  /**
   * A broker whose heartbeats the controller has not received for this long is fenced
   * (`broker_session_timeout`, `--broker-session-timeout`). Default 9 s; at least twice
   * `brokerHeartbeatIntervalMs`.
   */
  brokerSessionTimeoutMs: number;
  /** How often a broker heartbeats to the controller leader (`broker_heartbeat_interval`). Default 1 s. */
  brokerHeartbeatIntervalMs: number;
  /** Period of the Raft tick shared by every group on the broker (`raft_tick`). Default 100 ms. */
  raftTickMs: number;
  /**
   * Raft election timeout (`election_timeout`): a follower that hears no leader for a random time
   * in [electionTimeoutMs, 2 × electionTimeoutMs) campaigns. Counted in whole ticks
   * (`electionTicks` in src/config/cluster-members.ts); at least 3 ticks. Default 1 s (10 ticks).
   */
  electionTimeoutMs: number;
  /** Segment roll size (`segment_size`). */
  segmentBytes: number;
  /** Segment roll age. */
  segmentMs: number;
  /** Delete segments older than this (`retention_time`); -1 keeps forever. */
  retentionMs: number;
  /** Per-partition size cap (`max_storage_size`); -1 means no cap. */
  retentionBytes: number;
  /**
   * `flush_interval`: with `fsyncEnabled` false, the logs are synced at least this often while
   * writes come (0: never). Acknowledgements never wait for it; with fsync on it changes nothing
   * (every acknowledgement waits for its own group-commit fsync).
   */
  flushIntervalMs: number;
  /** When false, acknowledge without fsync (unsafe; `flush` setting, DESIGN decision 5). */
  fsyncEnabled: boolean;
  /** Retention sweep period (`cleanup_interval`). */
  cleanupIntervalMs: number;
  /** Largest accepted record batch (`max_message_size`, Kafka's `message.max.bytes`). */
  maxMessageBytes: number;
  /** Largest accepted request frame (`max_request_size`, Kafka's `socket.request.max.bytes`):
   * one Produce request may carry many batches of up to `maxMessageBytes` each. */
  maxRequestBytes: number;
  /** Request bytes held by all client connections at once (`queued_max_request_bytes`, Kafka's
   * `queued.max.request.bytes`): partial frames and requests not yet answered. Past it the
   * broker stops reading from sockets (back pressure). At least `maxRequestBytes` in effect. */
  queuedMaxRequestBytes: number;
  /** Open client connections (`max_connections`). */
  maxConnections: number;
  /** Open client connections from one IP address (`max_connections_per_ip`). */
  maxConnectionsPerIp: number;
  /** Idle client connections are closed after this long (`connections_max_idle`, Kafka's
   * `connections.max.idle.ms`). */
  connectionsMaxIdleMs: number;
  /** A started request frame must arrive whole within this long (`request_read_timeout`). */
  requestReadTimeoutMs: number;
  /** Produce is refused while the data directory's file system has less free space
   * (`min_free_bytes`); 0 disables the check. */
  minFreeBytes: number;
  /** Read rate of the background scrubber re-verifying closed segments (`scrub_rate`); 0 = off. */
  scrubBytesPerSecond: number;
  /** Broker-side recompression (`compression_enabled`, `compression_type`, `compression_threshold`). */
  compressionEnabled: boolean;
  compressionType: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' | 'producer';
  compressionThresholdBytes: number;
  /** Content-hash de-duplication for producers that are not idempotent (`deduplication_enabled`). */
  deduplicationEnabled: boolean;
  /** How long a stored record counts as a duplicate source (`deduplication_window`). */
  deduplicationWindowMs: number;
  /** At most this many records per partition are remembered (`deduplication_window_records`). */
  deduplicationWindowRecords: number;
  /** An idempotent producer silent this long is forgotten (`producer_id_expiration`). */
  producerIdExpirationMs: number;
  /** Partitions of the internal `__consumer_offsets` topic (`offsets_topic_num_partitions`). */
  offsetsTopicPartitions: number;
  /** Its replication factor, capped by the live brokers (`offsets_topic_replication_factor`). */
  offsetsTopicReplicationFactor: number;
  /** An empty group without commits this long is deleted (`offsets_retention_minutes`). */
  offsetsRetentionMs: number;
  /** Serve Fetch from followers (`enable_follower_read`). */
  enableFollowerRead: boolean;
  /**
   * How a follower confirms a read (`follower_read_consistency`): `relaxed` serves up to the
   * high watermark it knows; `strict` first asks the leader for a read index (Raft ReadIndex).
   */
  followerReadConsistency: 'relaxed' | 'strict';
  /**
   * A broker fenced this long has its replicas moved to live brokers (`replica_replace_after`).
   * Default 5 min.
   */
  replicaReplaceAfterMs: number;
  /** Partitions moving their replicas at once, cluster-wide (`max_replica_moves`). Default 8. */
  maxReplicaMoves: number;
  /**
   * How often the controller leader moves leadership back to preferred replicas
   * (`leader_balance_interval`); 0 turns leader balancing off. Default 5 min.
   */
  leaderBalanceIntervalMs: number;
  /**
   * A broker leading more than its share of partitions by more than this percentage
   * (`leader_imbalance_percent`) hands leadership back to preferred replicas. Default 10.
   */
  leaderImbalancePercent: number;
  /** Voters the controller group grows to as brokers join, capped at the live brokers rounded
   * down to odd (`controller_voters`: 1, 3 or 5). Default 3. */
  controllerVoters: number;
  /** Replicas move to brokers holding less than their share, e.g. one that joined
   * (`replica_balance`). Default true. */
  replicaBalance: boolean;
  /**
   * Replica balancing moves replicas while a broker holds more than its share by more than this
   * percentage, or less by more (`replica_imbalance_percent`). Default 10.
   */
  replicaImbalancePercent: number;
  /** Cap on partitions per topic (`max_topic_partitions`). */
  maxTopicPartitions: number;
  /** Kafka `auto.create.topics.enable`, off by default. */
  autoCreateTopics: boolean;
  defaultPartitions: number;
  defaultReplicationFactor: number;
  /** Admin HTTP listener (health, metrics); port 0 picks a free port, -1 disables. */
  httpPort: number;
  /** pino level and optional log file (`server.log_file`). */
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  logFile: string | null;
}
