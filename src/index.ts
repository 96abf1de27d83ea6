/**
 * goqueue's public entry point: the embeddable broker, the client SDK, configuration loading,
 * and the branded index types.
 */
export { Broker, type BrokerOptions } from './broker/broker.js';
export type { LocalCluster, LocalClusterOptions } from './broker/local-cluster.js';
export * from './client/index.js';
export { ConfigError, defaultConfig, loadConfig } from './config/load.js';
export type { BrokerConfig } from './config/types.js';
export type { KafkaOffset, LogIndex, NodeId, Term } from './lib/ids.js';
