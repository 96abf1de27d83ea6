import type { LogIndex, NodeId, Term } from '../lib/ids.js';
import { logIndex, nodeId, term } from '../lib/ids.js';

/** "No node": no leader known, no vote cast. Real node ids start at 1. */
export const NO_NODE: NodeId = nodeId(0);
export const NO_TERM: Term = term(0);
export const NO_INDEX: LogIndex = logIndex(0);

/**
 * What an entry carries. The core treats `data` as opaque bytes; `src/raft/entry.ts` maps each
 * type onto a Kafka RecordBatch (DESIGN decision 3): `Normal` is a producer batch, `Noop` and
 * `ConfChange` are goqueue control batches.
 */
export enum EntryType {
  /** Application data (for a partition: one RecordBatch v2). */
  Normal = 0,
  /** Appended by every new leader so it can commit an entry of its own term (§5.4.2, §8). */
  Noop = 1,
  /** One membership change; `data` is an encoded `ConfChange` (see conf-change.ts). */
  ConfChange = 2,
}

/** One log entry. `index` and `term` are assigned by the leader that appends it. */
export interface Entry {
  readonly index: LogIndex;
  readonly term: Term;
  readonly type: EntryType;
  readonly data: Uint8Array;
  /**
   * Set by storage on a stored entry whose bytes fail their checks (they rotted on disk after
   * being written); `data` is the bytes as read, and `type` is Normal unless the batch's CRC32C
   * still holds (only its epoch or offset rotted) and so tells the type. Such an entry may be
   * sent (the follower refuses it) but is not applied while the group has another member to
   * repair it from (see RaftLog.nextCommittedEntries). Never set on an entry in flight.
   */
  readonly damaged?: true;
}

/**
 * Voters decide elections and commits; learners only receive the log (DESIGN decision 7).
 * `addedAt` is set only in a node's own snapshot, about itself (see `AddedAt`); it never
 * travels and plays no part in quorums.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly addedAt?: AddedAt;
}

/**
 * The entry (index and term) of the membership change that added this node to the group, when
 * that change comes after the snapshot its log starts from. A node added back after its replica
 * was deleted is a new server reusing an old id: any seat its id holds in a membership older
 * than that entry belonged to the deleted replica, whose log and votes are gone. So until its
 * log holds the entry the node is *joining*: it does not campaign and grants no vote to a
 * candidate whose log ends before the entry (docs/raft.md, Membership, rule 6). The leader names
 * the entry when it sends a snapshot (the Snapshot message's `index` and `logTerm`); the node
 * keeps it in the membership of the snapshot it installs, so a restart does not forget it.
 */
export interface AddedAt {
  readonly index: LogIndex;
  readonly term: Term;
}

export interface SnapshotMetadata {
  /** Last entry the snapshot covers; the log continues at `index + 1`. */
  readonly index: LogIndex;
  /** Term of entry `index`. */
  readonly term: Term;
  /** Membership in force after applying entries up to `index`. */
  readonly confState: ConfState;
}

/**
 * A state image covering the log up to `metadata.index`. `data` is opaque to the core: for a
 * partition it is "the log starts at index X with term T and Kafka offset O" plus small state,
 * for the controller it is the metadata image.
 */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/**
 * The state that must be on disk before a node sends any message that depends on it
 * (DESIGN decision 5): a node never votes twice in a term, never forgets a term it has seen.
 */
export interface HardState {
  readonly term: Term;
  /** Candidate voted for in `term`, or NO_NODE. */
  readonly vote: NodeId;
  /** Highest index known committed. Persisting it is an optimisation (faster restart); it may lag. */
  readonly commit: LogIndex;
}

export enum StateRole {
  Follower = 'follower',
  PreCandidate = 'pre-candidate',
  Candidate = 'candidate',
  Leader = 'leader',
}

/** Volatile state, reported for observation (metrics, routing); never persisted. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: StateRole;
}

/**
 * A ReadIndex answer: once the application has applied `index`, a read issued with
 * `requestContext` is linearizable (Raft thesis §6.4).
 */
export interface ReadState {
  readonly index: LogIndex;
  readonly requestContext: Uint8Array;
}

export enum MessageType {
  // Local messages: never sent over the network, `term` is 0.
  /** Start an election (timer fired or `campaign()`). */
  Hup = 'hup',
  /** Leader: send heartbeats now. */
  Beat = 'beat',
  /** Leader: check that a quorum was active during the last election timeout. */
  CheckQuorum = 'check-quorum',
  /** A proposal; a follower rejects it (Kafka clients are redirected to the leader instead). */
  Propose = 'propose',
  /** The host reports that a peer could not be reached. */
  Unreachable = 'unreachable',
  /** The host reports whether a snapshot reached a peer (`reject` = failed). */
  SnapshotStatus = 'snapshot-status',

  // Network messages.
  Append = 'append',
  AppendResponse = 'append-response',
  Vote = 'vote',
  VoteResponse = 'vote-response',
  PreVote = 'pre-vote',
  PreVoteResponse = 'pre-vote-response',
  Snapshot = 'snapshot',
  Heartbeat = 'heartbeat',
  HeartbeatResponse = 'heartbeat-response',
  /** Ask the leader (directly or via a follower) to hand leadership to `from`. */
  TransferLeader = 'transfer-leader',
  /** Leader → transferee: campaign now, ignoring election timeouts and leases (thesis §3.10). */
  TimeoutNow = 'timeout-now',
  /** Request a read index; a follower forwards it to the leader with term 0. */
  ReadIndex = 'read-index',
  ReadIndexResponse = 'read-index-response',
}

/**
 * One Raft message. Fields not used by a type keep their zero value. Meaning per type:
 *
 * - Append: `index`/`logTerm` = entry preceding `entries`; `commit` = leader's commit index.
 * - AppendResponse: `index` = highest index now matching the leader (accept) or the rejected
 *   `index` (reject) with `rejectHint`/`logTerm` = where the follower suggests probing next.
 * - Vote/PreVote: `index`/`logTerm` = candidate's last entry; `term` = the term campaigned for
 *   (for PreVote: one above the candidate's real term); `context` = "transfer" when forced.
 * - Heartbeat: `commit` = min(follower's match, leader commit); `context` = a ReadIndex round.
 * - Snapshot: `snapshot` carries the image; `index`/`logTerm` = the entry of the membership change
 *   that added the recipient, when it comes after the snapshot (else 0; see `AddedAt`).
 * - ReadIndex/ReadIndexResponse: `context` = the request id; the response's `index` is the read index.
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: Term;
  logTerm: Term;
  index: LogIndex;
  entries: Entry[];
  commit: LogIndex;
  reject: boolean;
  rejectHint: LogIndex;
  snapshot?: Snapshot;
  context?: Uint8Array;
}

/** A message with every field at its zero value, overridden by `fields`. */
export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    from: NO_NODE,
    to: NO_NODE,
    term: NO_TERM,
    logTerm: NO_TERM,
    index: NO_INDEX,
    entries: [],
    commit: NO_INDEX,
    reject: false,
    rejectHint: NO_INDEX,
    ...fields,
  };
}

export function isLocalMessage(type: MessageType): boolean {
  return (
    type === MessageType.Hup ||
    type === MessageType.Beat ||
    type === MessageType.CheckQuorum ||
    type === MessageType.Unreachable ||
    type === MessageType.SnapshotStatus
  );
}

export function isResponseMessage(type: MessageType): boolean {
  return (
    type === MessageType.AppendResponse ||
    type === MessageType.VoteResponse ||
    type === MessageType.PreVoteResponse ||
    type === MessageType.HeartbeatResponse ||
    type === MessageType.ReadIndexResponse
  );
}

/** Bytes an entry costs against size limits (payload plus a fixed per-entry overhead). */
export function entryBytes(entry: Entry): number {
  return entry.data.length + 16;
}

export function isEmptyHardState(state: HardState): boolean {
  return state.term === 0 && state.vote === 0 && state.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export const EMPTY_SNAPSHOT: Snapshot = {
  metadata: { index: NO_INDEX, term: NO_TERM, confState: { voters: [], learners: [] } },
  data: new Uint8Array(0),
};
