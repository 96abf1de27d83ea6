/** Bytes of the size prefix in front of every Kafka request and response. */
export const FRAME_SIZE_PREFIX_BYTES = 4;

/** Raised when a peer announces a frame we will not read; the caller closes the connection. */
export class FrameError extends Error {
  override name = 'FrameError';
}

/**
 * Splits a TCP byte stream into Kafka frames (`int32 size` + `size` bytes) without copying
 * complete frames that sit inside one chunk. A frame larger than `maxFrameBytes` (or a negative
 * size) raises FrameError before any of its bytes are buffered beyond what already arrived.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** Drops every buffered byte (the connection closed); returns how many there were. */
  clear(): number {
    const dropped = this.bufferedBytes;
    this.chunks = [];
    this.bufferedBytes = 0;
    return dropped;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  /** The next complete frame (without its size prefix), or null when more bytes are needed. */
  next(): Buffer | null {
    if (this.bufferedBytes < FRAME_SIZE_PREFIX_BYTES) return null;
    const size = this.peekSize();
    if (size < 0 || size > this.maxFrameBytes) {
      throw new FrameError(`frame of ${size} bytes is outside 0..${this.maxFrameBytes}`);
    }
    if (this.bufferedBytes < FRAME_SIZE_PREFIX_BYTES + size) return null;
    this.consume(FRAME_SIZE_PREFIX_BYTES);
    return this.consume(size);
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= FRAME_SIZE_PREFIX_BYTES) return first.readInt32BE(0);
    const head = Buffer.concat(this.chunks, FRAME_SIZE_PREFIX_BYTES);
    return head.readInt32BE(0);
  }

  /** Removes and returns the first `count` buffered bytes (count <= bufferedBytes). */
  private consume(count: number): Buffer {
    if (count === 0) return Buffer.alloc(0);
    this.bufferedBytes -= count;
    const first = this.chunks[0]!;
    if (first.length > count) {
      this.chunks[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    if (first.length === count) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(count);
    let written = 0;
    while (written < count) {
      const chunk = this.chunks[0]!;
      const take = Math.min(chunk.length, count - written);
      chunk.copy(out, written, 0, take);
      written += take;
      if (take === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(take);
    }
    return out;
  }
}
