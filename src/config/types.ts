/**
 * A broker's resolved configuration. `src/config/load.ts` builds it from defaults, the seed's JSON
 * config file keys, `GOQUEUE_*` environment variables and CLI flags (later wins), and validates
 * it; everything else receives this plain object. Units are last in every name.
 */
export interface BrokerConfig {
  /** This broker's id (`broker_id`, `--broker-id`). */
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
  /** Initial cluster members `id=host:port,...` (`--initial-cluster`); empty = single node. */
  initialCluster: Array<{ brokerId: number; raftHost: string; raftPort: number }>;
  /** Segment roll size (`segment_size`). */
  segmentBytes: number;
  /** Segment roll age. */
  segmentMs: number;
  /** Delete segments older than this (`retention_time`); -1 keeps forever. */
  retentionMs: number;
  /** Per-partition size cap (`max_storage_size`); -1 means no cap. */
  retentionBytes: number;
  /** Group-commit fsync cycle (`flush_interval`); 0 = fsync before every acknowledgement. */
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
  /** Broker-side recompression (`compression_enabled`, `compression_type`, `compression_threshold`). */
  compressionEnabled: boolean;
  compressionType: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' | 'producer';
  compressionThresholdBytes: number;
  /** Drop duplicate batches from idempotent producers (`deduplication_enabled`). */
  deduplicationEnabled: boolean;
  /** Serve Fetch from followers (`enable_follower_read`). */
  enableFollowerRead: boolean;
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
