/**
 * The Kafka wire protocol codec (pure: no I/O, clock or randomness). See docs/protocol.md for
 * the APIs and versions served.
 */
export { crc32c } from './crc32c.js';
export {
  ERROR_TABLE,
  ErrorCode,
  type ErrorCodeName,
  type ErrorInfo,
  errorInfo,
  ProtocolError,
} from './errors.js';
export {
  encodeFetchResponseChunks,
  type FetchAbortedTransaction,
  type FetchPartitionResponse,
  type FetchResponse,
  type FetchTopicResponse,
} from './fetch-response.js';
export {
  type DecodedRequestHeader,
  decodeRequestBody,
  decodeRequestBodyGeneric,
  decodeRequestHeader,
  decodeResponse,
  encodeApiVersionsFallback,
  encodeRequest,
  encodeResponse,
  encodeResponseBodyGeneric,
  isFlexible,
  type RequestHeader,
} from './frames.js';
export {
  decodeProduceRequest,
  type ProducePartitionData,
  type ProduceRequest,
  type ProduceTopicData,
} from './produce-request.js';
export { Reader } from './reader.js';
export * from './record-batch-header.js';
export {
  type Codecs,
  type DecodeBatchOptions,
  type DecodedBatch,
  type DecodedRecord,
  decodeRecordBatches,
  type EncodeBatchOptions,
  encodeRecordBatch,
  type Record as KafkaRecord,
  type RecordHeader,
  type RecordInput,
} from './records.js';
export type { ApiSchema, Field, PrimitiveType, VersionRange } from './schema.js';
export { API_SCHEMAS, schemaFor } from './schemas/index.js';
export {
  ApiKey,
  type ApiVersionRange,
  isSupported,
  NON_FLEXIBLE_APIS,
  SERVED_APIS,
  SUPPORTED_APIS,
} from './versions.js';
export { Writer } from './writer.js';
