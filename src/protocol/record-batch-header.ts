/**
 * The RecordBatch v2 header layout lives in src/lib (src/lib/record-batch-header.ts): the
 * storage, Raft and protocol layers all need it, and src/raft may depend on src/lib only.
 * Re-exported here so the protocol layer keeps offering it.
 */
export * from '../lib/record-batch-header.js';
