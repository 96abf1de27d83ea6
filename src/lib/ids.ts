/**
 * Branded identifiers. Two index spaces live side by side in a partition (DESIGN decision 3):
 * a Raft `LogIndex` counts entries (one entry = one RecordBatch), a `KafkaOffset` counts
 * records. They are never mixed and never both called "offset".
 */
declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A broker's id in the cluster (the seed's `broker_id`). */
export type NodeId = Brand<number, 'NodeId'>;
/** A Raft term; also written into a batch's `partitionLeaderEpoch`. */
export type Term = Brand<number, 'Term'>;
/** Ordinal of a Raft entry, contiguous, first entry is 1 (0 means "none"). */
export type LogIndex = Brand<number, 'LogIndex'>;
/** Kafka record offset: a batch of N records advances it by N. */
export type KafkaOffset = Brand<number, 'KafkaOffset'>;

export const nodeId = (value: number): NodeId => value as NodeId;
export const term = (value: number): Term => value as Term;
export const logIndex = (value: number): LogIndex => value as LogIndex;
export const kafkaOffset = (value: number): KafkaOffset => value as KafkaOffset;
