/**
 * Inter-broker framing on the raft port (docs/cluster.md has the byte layout).
 *
 *   frame   = length:u32be  body            length counts body bytes only
 *   body    = version:u8 kind:u8 rest
 *   kind 1  Handshake  rest = magic:"GQRF" nodeId:u32be clusterIdLength:u16be clusterId:utf8
 *   kind 2  Message    rest = groupId:u32be payload (to the end of the frame)
 *
 * Every field is bounds-checked; a frame that breaks a rule throws `FrameError`, and the
 * transport closes that one connection.
 */
import type { NodeId } from '../lib/ids.js';

/** Version of this framing; the first byte of every frame body. */
export const FRAME_VERSION = 1;
/** Length prefix plus version and kind. */
export const FRAME_HEADER_BYTES = 6;
export const HANDSHAKE_MAGIC = Buffer.from('GQRF', 'latin1');
/** Longest cluster id a handshake may carry. */
export const CLUSTER_ID_MAX_BYTES = 255;

export enum FrameKind {
  Handshake = 1,
  Message = 2,
}

export interface Handshake {
  kind: FrameKind.Handshake;
  nodeId: NodeId;
  clusterId: string;
}

export interface MessageFrame {
  kind: FrameKind.Message;
  groupId: number;
  /** A view into the received bytes; copy it to keep it past the callback. */
  payload: Buffer;
}

export type Frame = Handshake | MessageFrame;

/** A frame broke the format; the connection that sent it is closed. */
export class FrameError extends Error {
  override name = 'FrameError';
}

/** A frame with its length prefix, version and kind written; `restBytes` follow at offset 6. */
function allocateFrame(kind: FrameKind, restBytes: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + restBytes);
  frame.writeUInt32BE(2 + restBytes, 0);
  frame[4] = FRAME_VERSION;
  frame[5] = kind;
  return frame;
}

export function encodeHandshake(nodeId: NodeId, clusterId: string): Buffer {
  const id = Buffer.from(clusterId, 'utf8');
  if (id.length > CLUSTER_ID_MAX_BYTES)
    throw new RangeError(`cluster id is ${id.length} bytes; at most ${CLUSTER_ID_MAX_BYTES}`);
  const frame = allocateFrame(FrameKind.Handshake, HANDSHAKE_MAGIC.length + 4 + 2 + id.length);
  HANDSHAKE_MAGIC.copy(frame, 6);
  frame.writeUInt32BE(nodeId, 10);
  frame.writeUInt16BE(id.length, 14);
  id.copy(frame, 16);
  return frame;
}

/** Length of a message frame carrying `payloadBytes`. */
export const messageFrameBytes = (payloadBytes: number): number => FRAME_HEADER_BYTES + 4 + payloadBytes;

export function encodeMessage(groupId: number, payload: Buffer): Buffer {
  if (!Number.isInteger(groupId) || groupId < 0 || groupId > 0xffff_ffff)
    throw new RangeError(`group id ${groupId} is not a u32`);
  const frame = allocateFrame(FrameKind.Message, 4 + payload.length);
  frame.writeUInt32BE(groupId, 6);
  payload.copy(frame, 10);
  return frame;
}

/** Decodes one frame body (the bytes after the length prefix). */
export function decodeFrameBody(body: Buffer): Frame {
  if (body.length < 2) throw new FrameError(`frame body of ${body.length} bytes is too short`);
  const version = body[0] as number;
  if (version !== FRAME_VERSION)
    throw new FrameError(`frame version ${version} is not supported (we speak ${FRAME_VERSION})`);
  const kind = body[1] as number;
  switch (kind) {
    case FrameKind.Handshake: {
      if (body.length < 12) throw new FrameError('handshake frame is truncated');
      if (!body.subarray(2, 6).equals(HANDSHAKE_MAGIC))
        throw new FrameError('handshake magic is wrong (not a goqueue raft peer)');
      const nodeId = body.readUInt32BE(6) as NodeId;
      const idBytes = body.readUInt16BE(10);
      if (idBytes > CLUSTER_ID_MAX_BYTES)
        throw new FrameError(`handshake cluster id of ${idBytes} bytes exceeds ${CLUSTER_ID_MAX_BYTES}`);
      if (body.length !== 12 + idBytes)
        throw new FrameError(`handshake frame is ${body.length} bytes, expected ${12 + idBytes}`);
      return { kind: FrameKind.Handshake, nodeId, clusterId: body.toString('utf8', 12) };
    }
    case FrameKind.Message: {
      if (body.length < 6) throw new FrameError('message frame is truncated');
      return { kind: FrameKind.Message, groupId: body.readUInt32BE(2), payload: body.subarray(6) };
    }
    default:
      throw new FrameError(`unknown frame kind ${kind}`);
  }
}

/**
 * Splits a byte stream into frame bodies. Chunks are kept in a list and joined only when a
 * whole frame is present, so a large frame arriving in many chunks is copied once.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** Feeds received bytes; returns every complete frame body. Throws `FrameError`. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const bodies: Buffer[] = [];
    while (this.bufferedBytes >= 4) {
      const head = this.peekHead();
      const bodyBytes = head.readUInt32BE(0);
      if (bodyBytes < 2) throw new FrameError(`frame length ${bodyBytes} is below the minimum of 2`);
      if (bodyBytes > this.maxFrameBytes)
        throw new FrameError(`frame of ${bodyBytes} bytes exceeds the cap of ${this.maxFrameBytes}`);
      if (this.bufferedBytes < 4 + bodyBytes) break;
      const joined = this.take(4 + bodyBytes);
      bodies.push(joined.subarray(4));
    }
    return bodies;
  }

  /** First chunk made at least 4 bytes long. */
  private peekHead(): Buffer {
    let first = this.chunks[0] as Buffer;
    if (first.length < 4) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    return first;
  }

  private take(bytes: number): Buffer {
    let first = this.chunks[0] as Buffer;
    if (first.length < bytes) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    const out = first.subarray(0, bytes);
    if (first.length === bytes) this.chunks.shift();
    else this.chunks[0] = first.subarray(bytes);
    this.bufferedBytes -= bytes;
    return out;
  }
}
