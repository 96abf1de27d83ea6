/**
 * Binary encoding of a `PeerBatch` (src/raft/multi/host.ts): everything one broker sends another
 * in one flush, for every group they share — Raft messages, coalesced heartbeats and heartbeat
 * responses. It travels as one transport frame on the reserved channel `PEER_BATCH_CHANNEL`.
 *
 *   batch     = codecVersion:u8 from:u32 to:u32
 *               messageCount:u32   (group:u32 length:u32 raftMessage)*
 *               heartbeatCount:u32 (group:u32 term:u48 commit:u48 flags:u8 [context])*
 *               responseCount:u32  (group:u32 term:u48 flags:u8 [context])*
 *   flags     = bit 0 quiesce (heartbeats only), bit 1 context present
 *   context   = length:u32 bytes
 *   raftMessage = encodeRaftMessage (raft-message-codec.ts)
 *
 * Big-endian. Decoding checks every bound (a count that cannot fit the remaining bytes is refused
 * before anything is allocated), refuses unknown versions and flags and trailing bytes, and
 * throws only `PeerBatchCodecError`. Decoded contexts and entry data are views into the input.
 */
import type { LogIndex, NodeId, Term } from '../lib/ids.js';
import type { CoalescedHeartbeat, CoalescedHeartbeatResponse, PeerBatch } from '../raft/multi/host.js';
import { decodeRaftMessage, encodeRaftMessage, RaftMessageCodecError } from './raft-message-codec.js';

export const PEER_BATCH_CODEC_VERSION = 1;
/** Transport channel (the frame's group id field) reserved for PeerBatch frames. */
export const PEER_BATCH_CHANNEL = 0xffff_ffff;

const FLAG_QUIESCE = 1;
const FLAG_CONTEXT = 2;
const HEADER_BYTES = 1 + 4 + 4 + 4 + 4 + 4;
const MESSAGE_ITEM_BYTES = 4 + 4;
const HEARTBEAT_BYTES = 4 + 6 + 6 + 1;
const RESPONSE_BYTES = 4 + 6 + 1;
const U48_LIMIT = 2 ** 48;

/** The bytes are not a PeerBatch (or a batch could not be encoded). */
export class PeerBatchCodecError extends Error {
  override name = 'PeerBatchCodecError';
}

export function encodePeerBatch(batch: PeerBatch): Buffer {
  const messages = batch.messages.map(({ group, message }) => {
    try {
      return { group, bytes: encodeRaftMessage(message) };
    } catch (error) {
      if (error instanceof RaftMessageCodecError) throw new PeerBatchCodecError(error.message);
      throw error;
    }
  });
  let size = HEADER_BYTES;
  for (const m of messages) size += MESSAGE_ITEM_BYTES + m.bytes.length;
  for (const hb of batch.heartbeats) size += HEARTBEAT_BYTES + (hb.context ? 4 + hb.context.length : 0);
  for (const r of batch.heartbeatResponses) size += RESPONSE_BYTES + (r.context ? 4 + r.context.length : 0);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  const u32 = (v: number) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new PeerBatchCodecError(`${v} is not a u32`);
    at = out.writeUInt32BE(v, at);
  };
  const u48 = (v: number) => {
    if (!Number.isInteger(v) || v < 0 || v >= U48_LIMIT)
      throw new PeerBatchCodecError(`${v} does not fit in u48`);
    at = out.writeUIntBE(v, at, 6);
  };
  const bytes = (data: Uint8Array) => {
    u32(data.length);
    out.set(data, at);
    at += data.length;
  };
  out[at++] = PEER_BATCH_CODEC_VERSION;
  u32(batch.from);
  u32(batch.to);
  u32(messages.length);
  for (const m of messages) {
    u32(m.group);
    bytes(m.bytes);
  }
  u32(batch.heartbeats.length);
  for (const hb of batch.heartbeats) {
    u32(hb.group);
    u48(hb.term);
    u48(hb.commit);
    out[at++] = (hb.quiesce ? FLAG_QUIESCE : 0) | (hb.context !== undefined ? FLAG_CONTEXT : 0);
    if (hb.context !== undefined) bytes(hb.context);
  }
  u32(batch.heartbeatResponses.length);
  for (const r of batch.heartbeatResponses) {
    u32(r.group);
    u48(r.term);
    out[at++] = r.context !== undefined ? FLAG_CONTEXT : 0;
    if (r.context !== undefined) bytes(r.context);
  }
  if (at !== size) throw new PeerBatchCodecError(`encoded ${at} bytes, sized ${size}`);
  return out;
}

export function decodePeerBatch(buf: Buffer): PeerBatch {
  let at = 0;
  const need = (bytes: number, what: string) => {
    if (at + bytes > buf.length)
      throw new PeerBatchCodecError(`${what} needs ${bytes} bytes at ${at}, batch has ${buf.length}`);
  };
  const u8 = (what: string) => {
    need(1, what);
    return buf[at++] as number;
  };
  const u32 = (what: string) => {
    need(4, what);
    const v = buf.readUInt32BE(at);
    at += 4;
    return v;
  };
  const u48 = (what: string) => {
    need(6, what);
    const v = buf.readUIntBE(at, 6);
    at += 6;
    return v;
  };
  const bytes = (what: string): Buffer => {
    const length = u32(`${what} length`);
    need(length, what);
    const v = buf.subarray(at, at + length);
    at += length;
    return v;
  };
  const count = (what: string, minItemBytes: number): number => {
    const n = u32(`${what} count`);
    if (n * minItemBytes > buf.length - at)
      throw new PeerBatchCodecError(`${what} count ${n} exceeds the batch size`);
    return n;
  };
  const version = u8('codec version');
  if (version !== PEER_BATCH_CODEC_VERSION)
    throw new PeerBatchCodecError(`peer batch codec version ${version} is not supported`);
  const from = u32('from') as NodeId;
  const to = u32('to') as NodeId;
  const messages: PeerBatch['messages'] = [];
  for (let i = count('message', MESSAGE_ITEM_BYTES); i > 0; i--) {
    const group = u32('message group');
    const payload = bytes('raft message');
    try {
      messages.push({ group, message: decodeRaftMessage(payload) });
    } catch (error) {
      if (error instanceof RaftMessageCodecError)
        throw new PeerBatchCodecError(`group ${group}: ${error.message}`);
      throw error;
    }
  }
  const heartbeats: CoalescedHeartbeat[] = [];
  for (let i = count('heartbeat', HEARTBEAT_BYTES); i > 0; i--) {
    const hb: CoalescedHeartbeat = {
      group: u32('heartbeat group'),
      term: u48('heartbeat term') as Term,
      commit: u48('heartbeat commit') as LogIndex,
    };
    const flags = u8('heartbeat flags');
    if ((flags & ~(FLAG_QUIESCE | FLAG_CONTEXT)) !== 0)
      throw new PeerBatchCodecError(`unknown heartbeat flags 0x${flags.toString(16)}`);
    if ((flags & FLAG_QUIESCE) !== 0) hb.quiesce = true;
    if ((flags & FLAG_CONTEXT) !== 0) hb.context = bytes('heartbeat context');
    heartbeats.push(hb);
  }
  const heartbeatResponses: CoalescedHeartbeatResponse[] = [];
  for (let i = count('heartbeat response', RESPONSE_BYTES); i > 0; i--) {
    const response: CoalescedHeartbeatResponse = {
      group: u32('response group'),
      term: u48('response term') as Term,
    };
    const flags = u8('response flags');
    if ((flags & ~FLAG_CONTEXT) !== 0)
      throw new PeerBatchCodecError(`unknown heartbeat response flags 0x${flags.toString(16)}`);
    if ((flags & FLAG_CONTEXT) !== 0) response.context = bytes('response context');
    heartbeatResponses.push(response);
  }
  if (at !== buf.length) throw new PeerBatchCodecError(`${buf.length - at} trailing bytes after the batch`);
  return { from, to, messages, heartbeats, heartbeatResponses };
}
