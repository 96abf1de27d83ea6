const TWO_POW_32 = 0x1_0000_0000;

/**
 * Writer of Kafka primitive types into one growing Buffer: capacity doubles when full, so a
 * message costs O(log size) allocations, never one per field. Strings are written in place
 * (no intermediate Buffer). `finish()` returns a view of the written bytes.
 */
export class Writer {
  buf: Buffer;
  offset = 0;

  constructor(initialBytes = 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialBytes));
  }

  /** Makes room for `count` more bytes. */
  ensure(count: number): void {
    const needed = this.offset + count;
    if (needed <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = Buffer.allocUnsafe(capacity);
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
  }

  /** The bytes written so far (a view; valid until the next write). */
  finish(): Buffer {
    return this.buf.subarray(0, this.offset);
  }

  int8(value: number): this {
    this.ensure(1);
    this.buf.writeInt8(value, this.offset++);
    return this;
  }

  bool(value: boolean): this {
    this.ensure(1);
    this.buf[this.offset++] = value ? 1 : 0;
    return this;
  }

  int16(value: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(value, this.offset);
    this.offset += 2;
    return this;
  }

  int32(value: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(value, this.offset);
    this.offset += 4;
    return this;
  }

  uint32(value: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(value >>> 0, this.offset);
    this.offset += 4;
    return this;
  }

  /** int64 from a JS number (or a bigint). */
  int64(value: number | bigint): this {
    this.ensure(8);
    if (typeof value === 'bigint') {
      this.buf.writeBigInt64BE(value, this.offset);
    } else {
      const high = Math.floor(value / TWO_POW_32);
      this.buf.writeInt32BE(high | 0, this.offset);
      this.buf.writeUInt32BE((value - high * TWO_POW_32) >>> 0, this.offset + 4);
    }
    this.offset += 8;
    return this;
  }

  float64(value: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(value, this.offset);
    this.offset += 8;
    return this;
  }

  unsignedVarint(value: number): this {
    this.ensure(5);
    let rest = value >>> 0;
    while (rest >= 0x80) {
      this.buf[this.offset++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.buf[this.offset++] = rest;
    return this;
  }

  /** Zigzag signed 32-bit varint. */
  varint(value: number): this {
    return this.unsignedVarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** Zigzag signed 64-bit varint from a JS number. */
  varlong(value: number): this {
    this.ensure(10);
    let rest = value >= 0 ? value * 2 : -value * 2 - 1;
    while (rest >= 0x80) {
      this.buf[this.offset++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buf[this.offset++] = rest;
    return this;
  }

  private utf8(value: string): void {
    this.buf.write(value, this.offset, 'utf8');
  }

  string(value: string): this {
    const length = Buffer.byteLength(value, 'utf8');
    this.ensure(2 + length);
    this.buf.writeInt16BE(length, this.offset);
    this.offset += 2;
    this.utf8(value);
    this.offset += length;
    return this;
  }

  nullableString(value: string | null | undefined): this {
    if (value === null || value === undefined) return this.int16(-1);
    return this.string(value);
  }

  compactString(value: string | null | undefined): this {
    if (value === null || value === undefined) return this.unsignedVarint(0);
    const length = Buffer.byteLength(value, 'utf8');
    this.unsignedVarint(length + 1);
    this.ensure(length);
    this.utf8(value);
    this.offset += length;
    return this;
  }

  raw(value: Uint8Array): this {
    this.ensure(value.length);
    this.buf.set(value, this.offset);
    this.offset += value.length;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.int32(value.length);
    return this.raw(value);
  }

  nullableBytes(value: Uint8Array | null | undefined): this {
    if (value === null || value === undefined) return this.int32(-1);
    return this.bytes(value);
  }

  /** 32 hex digits (dashes allowed) as 16 raw bytes; an all-zero uuid when absent. */
  uuid(value: string | null | undefined): this {
    this.ensure(16);
    const hex = (value ?? '').replaceAll('-', '');
    if (hex.length === 32) this.buf.write(hex, this.offset, 'hex');
    else this.buf.fill(0, this.offset, this.offset + 16);
    this.offset += 16;
    return this;
  }

  emptyTaggedFields(): this {
    return this.unsignedVarint(0);
  }

  /** Reserves an int32 to patch later with `patchInt32`; returns its position. */
  reserveInt32(): number {
    this.ensure(4);
    const at = this.offset;
    this.offset += 4;
    return at;
  }

  patchInt32(at: number, value: number): void {
    this.buf.writeInt32BE(value, at);
  }
}
