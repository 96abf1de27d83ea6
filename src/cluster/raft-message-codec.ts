/**
 * Binary encoding of a Raft `Message` (src/raft/types.ts) for the inter-broker transport. The
 * transport frame already names the group; this is the frame's payload.
 *
 *   message  = codecVersion:u8 type:u8 flags:u8 from:u32 to:u32
 *              term:u48 logTerm:u48 index:u48 commit:u48 rejectHint:u48
 *              entryCount:u32 entry*  [context]  [snapshot]
 *   flags    = bit 0 reject, bit 1 context present, bit 2 snapshot present
 *   entry    = index:u48 term:u48 type:u8 dataLength:u32 data
 *   context  = length:u32 bytes
 *   snapshot = index:u48 term:u48 voterCount:u16 voter:u32* learnerCount:u16 learner:u32*
 *              dataLength:u32 data
 *
 * Integers are big-endian; u48 holds any index or term below 2^48. Type numbers are fixed here,
 * independent of the core's enum spelling. Decoding checks every bound and throws only
 * `RaftMessageCodecError`. Decoded `data`/`context` are views into the input buffer.
 */
import type { LogIndex, NodeId, Term } from '../lib/ids.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type Snapshot,
} from '../raft/types.js';

export const RAFT_MESSAGE_CODEC_VERSION = 1;

/** Wire numbers of message types. Never renumber; add new ones at the end. */
const typeNumbers: ReadonlyArray<MessageType> = [
  MessageType.Hup, // 0 (local; encodable for tests, never sent)
  MessageType.Beat,
  MessageType.CheckQuorum,
  MessageType.Propose,
  MessageType.Unreachable,
  MessageType.SnapshotStatus,
  MessageType.Append, // 6
  MessageType.AppendResponse,
  MessageType.Vote,
  MessageType.VoteResponse,
  MessageType.PreVote,
  MessageType.PreVoteResponse,
  MessageType.Snapshot,
  MessageType.Heartbeat,
  MessageType.HeartbeatResponse,
  MessageType.TransferLeader,
  MessageType.TimeoutNow,
  MessageType.ReadIndex,
  MessageType.ReadIndexResponse, // 18
];
const numberOfType = new Map<MessageType, number>(typeNumbers.map((type, i) => [type, i]));
const entryTypes = new Set<number>([EntryType.Normal, EntryType.Noop, EntryType.ConfChange]);

const FLAG_REJECT = 1;
const FLAG_CONTEXT = 2;
const FLAG_SNAPSHOT = 4;
const HEADER_BYTES = 3 + 4 + 4 + 5 * 6 + 4;
const ENTRY_HEADER_BYTES = 6 + 6 + 1 + 4;
const U48_LIMIT = 2 ** 48;

/** The bytes could not be decoded as a Raft message (or a message could not be encoded). */
export class RaftMessageCodecError extends Error {
  override name = 'RaftMessageCodecError';
}

function snapshotBytes(snapshot: Snapshot): number {
  const { voters, learners } = snapshot.metadata.confState;
  return 12 + 2 + 4 * voters.length + 2 + 4 * learners.length + 4 + snapshot.data.length;
}

/** Exact encoded size of `message`. */
export function encodedRaftMessageBytes(message: Message): number {
  let bytes = HEADER_BYTES;
  for (const entry of message.entries) bytes += ENTRY_HEADER_BYTES + entry.data.length;
  if (message.context !== undefined) bytes += 4 + message.context.length;
  if (message.snapshot !== undefined) bytes += snapshotBytes(message.snapshot);
  return bytes;
}

export function encodeRaftMessage(message: Message): Buffer {
  const type = numberOfType.get(message.type);
  if (type === undefined) throw new RaftMessageCodecError(`unknown message type ${String(message.type)}`);
  const out = Buffer.allocUnsafe(encodedRaftMessageBytes(message));
  let at = 0;
  const u8 = (v: number) => {
    out[at++] = v;
  };
  const u16 = (v: number) => {
    if (v > 0xffff) throw new RaftMessageCodecError(`count ${v} does not fit in u16`);
    at = out.writeUInt16BE(v, at);
  };
  const u32 = (v: number) => {
    at = out.writeUInt32BE(v, at);
  };
  const u48 = (v: number) => {
    if (!Number.isInteger(v) || v < 0 || v >= U48_LIMIT)
      throw new RaftMessageCodecError(`${v} does not fit in u48`);
    at = out.writeUIntBE(v, at, 6);
  };
  const bytes = (data: Uint8Array) => {
    u32(data.length);
    out.set(data, at);
    at += data.length;
  };
  const flags =
    (message.reject ? FLAG_REJECT : 0) |
    (message.context !== undefined ? FLAG_CONTEXT : 0) |
    (message.snapshot !== undefined ? FLAG_SNAPSHOT : 0);
  u8(RAFT_MESSAGE_CODEC_VERSION);
  u8(type);
  u8(flags);
  u32(message.from);
  u32(message.to);
  u48(message.term);
  u48(message.logTerm);
  u48(message.index);
  u48(message.commit);
  u48(message.rejectHint);
  u32(message.entries.length);
  for (const entry of message.entries) {
    u48(entry.index);
    u48(entry.term);
    u8(entry.type);
    bytes(entry.data);
  }
  if (message.context !== undefined) bytes(message.context);
  if (message.snapshot !== undefined) {
    const { metadata, data } = message.snapshot;
    u48(metadata.index);
    u48(metadata.term);
    u16(metadata.confState.voters.length);
    for (const voter of metadata.confState.voters) u32(voter);
    u16(metadata.confState.learners.length);
    for (const learner of metadata.confState.learners) u32(learner);
    bytes(data);
  }
  if (at !== out.length) throw new RaftMessageCodecError(`encoded ${at} bytes, sized ${out.length}`);
  return out;
}

/** A bounds-checked cursor; every read past the end throws `RaftMessageCodecError`. */
class Reader {
  at = 0;
  constructor(private readonly buf: Buffer) {}

  private need(bytes: number, what: string): void {
    if (this.at + bytes > this.buf.length)
      throw new RaftMessageCodecError(
        `${what} needs ${bytes} bytes at ${this.at}, message has ${this.buf.length}`,
      );
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.at++] as number;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  u48(what: string): number {
    this.need(6, what);
    const v = this.buf.readUIntBE(this.at, 6);
    this.at += 6;
    return v;
  }
  bytes(what: string): Buffer {
    const length = this.u32(`${what} length`);
    this.need(length, what);
    const v = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return v;
  }
  get remaining(): number {
    return this.buf.length - this.at;
  }
}

export function decodeRaftMessage(buf: Buffer): Message {
  const r = new Reader(buf);
  const version = r.u8('codec version');
  if (version !== RAFT_MESSAGE_CODEC_VERSION)
    throw new RaftMessageCodecError(`raft message codec version ${version} is not supported`);
  const typeNumber = r.u8('type');
  const type = typeNumbers[typeNumber];
  if (type === undefined) throw new RaftMessageCodecError(`unknown message type number ${typeNumber}`);
  const flags = r.u8('flags');
  if ((flags & ~(FLAG_REJECT | FLAG_CONTEXT | FLAG_SNAPSHOT)) !== 0)
    throw new RaftMessageCodecError(`unknown flags 0x${flags.toString(16)}`);
  const from = r.u32('from') as NodeId;
  const to = r.u32('to') as NodeId;
  const term = r.u48('term') as Term;
  const logTerm = r.u48('logTerm') as Term;
  const index = r.u48('index') as LogIndex;
  const commit = r.u48('commit') as LogIndex;
  const rejectHint = r.u48('rejectHint') as LogIndex;
  const entryCount = r.u32('entry count');
  // Each entry takes at least its header: a count beyond that cannot be honest.
  if (entryCount * ENTRY_HEADER_BYTES > r.remaining)
    throw new RaftMessageCodecError(`entry count ${entryCount} exceeds the message size`);
  const entries: Entry[] = [];
  for (let i = 0; i < entryCount; i++) {
    const entryIndex = r.u48('entry index') as LogIndex;
    const entryTerm = r.u48('entry term') as Term;
    const entryType = r.u8('entry type');
    if (!entryTypes.has(entryType)) throw new RaftMessageCodecError(`unknown entry type ${entryType}`);
    entries.push({
      index: entryIndex,
      term: entryTerm,
      type: entryType as EntryType,
      data: r.bytes('entry data'),
    });
  }
  const message: Message = {
    type,
    from,
    to,
    term,
    logTerm,
    index,
    entries,
    commit,
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint,
  };
  if ((flags & FLAG_CONTEXT) !== 0) message.context = r.bytes('context');
  if ((flags & FLAG_SNAPSHOT) !== 0) {
    const snapshotIndex = r.u48('snapshot index') as LogIndex;
    const snapshotTerm = r.u48('snapshot term') as Term;
    const readIds = (what: string): NodeId[] => {
      const count = r.u16(`${what} count`);
      if (count * 4 > r.remaining)
        throw new RaftMessageCodecError(`${what} count ${count} exceeds the message size`);
      return Array.from({ length: count }, () => r.u32(what) as NodeId);
    };
    const confState: ConfState = { voters: readIds('voter'), learners: readIds('learner') };
    message.snapshot = {
      metadata: { index: snapshotIndex, term: snapshotTerm, confState },
      data: r.bytes('snapshot data'),
    };
  }
  if (r.remaining !== 0) throw new RaftMessageCodecError(`${r.remaining} trailing bytes after the message`);
  return message;
}
