export type {
  ClusterDescription,
  ConfigEntry,
  CreateTopicRequest,
  PartitionDescription,
  TopicDescription,
  TopicSummary,
} from './admin.js';
export { Admin } from './admin.js';
export type {
  AlterConfigsRequest,
  ConfigChange,
  ConfigOperationName,
  IncrementalAlterConfigsRequest,
} from './admin-configs.js';
export type {
  AlterPartitionReassignmentsRequest,
  ElectionResult,
  PartitionReassignment,
  PartitionSelection,
  Reassignment,
} from './admin-reassignments.js';
export type {
  DeletedRecords,
  DeleteRecordsRequest,
  LogDirDescription,
  LogDirReplica,
} from './admin-records.js';
export type { AssignmentContext, Assignor, AssignorMember, RebalanceProtocol } from './assignors/index.js';
export { cooperativeStickyAssignor, rangeAssignor, roundRobinAssignor } from './assignors/index.js';
export type { RetryOptions } from './backoff.js';
export type { BrokerInfo, CallOptions, ClientClock, ClientOptions } from './client.js';
export { Client } from './client.js';
export type { CompressionName } from './codecs.js';
export type {
  ConsumerOptions,
  FetchRequest,
  FetchResult,
  MessageBatch,
  StartPosition,
  StreamOptions,
} from './consumer.js';
export { Consumer } from './consumer.js';
export type { ConsumerGroupOptions, GroupPartition, PartitionsListener } from './consumer-group.js';
export { ConsumerGroup } from './consumer-group.js';
export { AbortError, ConnectionError, GoqueueError, KafkaProtocolError, TimeoutError } from './errors.js';
export type {
  GroupDescription,
  GroupMemberDescription,
  GroupPartitionOffsets,
  GroupSummary,
  OffsetResetTarget,
} from './group-admin.js';
export { GroupAdmin } from './group-admin.js';
export type { TopicPartitionOffset } from './group-offsets.js';
export { IdempotenceError } from './idempotence.js';
export { murmur2, partitionForKey } from './partitioner.js';
export type {
  Acks,
  ProduceRequest,
  ProduceResult,
  ProducerOptions,
  RecordMetadata,
  SendRecord,
} from './producer.js';
export { Producer } from './producer.js';
export type { Message, MessageInput } from './records.js';
