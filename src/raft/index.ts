/**
 * goqueue's Raft: a pure consensus core (no I/O, time or randomness of its own) driven by a
 * host through `RawNode`. See docs/raft.md.
 */
export {
  type ConfChange,
  ConfChangeType,
  decodeConfChange,
  encodeConfChange,
  validateConfChange,
} from './conf-change.js';
export {
  batchToEntry,
  CONTROL_TYPE_RAFT_CONF_CHANGE,
  CONTROL_TYPE_RAFT_NOOP,
  checkBatch,
  EntryFormatError,
  encodeSingleRecordBatch,
  entryToBatch,
  readSingleRecord,
  verifiedBatchToEntry,
} from './entry.js';
export { ProposalDroppedError } from './errors.js';
export { ProgressState } from './progress.js';
export type { RaftOptions, TestOnlyDefect } from './raft.js';
export { RawNode, type RawNodeOptions, type Ready, type Status } from './raw-node.js';
export { bootstrapSnapshot, MemoryRaftStorage, type RaftStorage } from './storage.js';
export {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  message,
  NO_INDEX,
  NO_NODE,
  NO_TERM,
  type ReadState,
  type Snapshot,
  type SnapshotMetadata,
  type SoftState,
  StateRole,
} from './types.js';
