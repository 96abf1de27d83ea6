import { ErrorCode, ProtocolError } from './errors.js';

const TWO_POW_32 = 0x1_0000_0000;

/**
 * Bounds-checked reader of Kafka primitive types over one Buffer. Every read checks the bytes it
 * needs first and throws ProtocolError(INVALID_REQUEST, by default) on a short or malformed input,
 * so a decoder built on it can never surface a RangeError. Byte fields come back as views into
 * the input (no copies): keep the input alive while they are used.
 */
export class Reader {
  offset: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    end = buf.length,
    /** Kafka error code attached to the ProtocolErrors this reader throws. */
    readonly errorCode: number = ErrorCode.INVALID_REQUEST,
  ) {
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  fail(message: string): never {
    throw new ProtocolError(this.errorCode, `${message} (at byte ${this.offset} of ${this.end})`);
  }

  /** Throws unless `count` more bytes are available. */
  need(count: number, what: string): void {
    if (count > this.end - this.offset) this.fail(`truncated ${what}: need ${count} bytes`);
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.offset++);
  }

  bool(): boolean {
    this.need(1, 'boolean');
    return this.buf[this.offset++] !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const value = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4, 'int32');
    const value = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const value = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** int64 as a JS number (exact below 2^53, which offsets and timestamps stay under). */
  int64(): number {
    this.need(8, 'int64');
    const high = this.buf.readInt32BE(this.offset);
    const low = this.buf.readUInt32BE(this.offset + 4);
    this.offset += 8;
    return high * TWO_POW_32 + low;
  }

  float64(): number {
    this.need(8, 'float64');
    const value = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return value;
  }

  /** Unsigned LEB128 varint of at most 32 bits. Integer shifts for the first four bytes (a
   * compact length or tag on every flexible field: this is on the hot paths). */
  unsignedVarint(): number {
    const buf = this.buf;
    const end = this.end;
    let at = this.offset;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (at >= end) this.failAt(at, 'truncated varint');
      const byte = buf[at++]!;
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.offset = at;
        return value;
      }
    }
    // Fifth byte: at most the 4 high bits of 32 are left.
    if (at >= end) this.failAt(at, 'truncated varint');
    const last = buf[at++]!;
    if (last > 0x0f)
      this.failAt(at, last & 0x80 ? 'varint longer than 5 bytes' : 'varint larger than 32 bits');
    this.offset = at;
    return value + last * 0x1000_0000;
  }

  private failAt(at: number, message: string): never {
    this.offset = at;
    return this.fail(message);
  }

  /** Zigzag-encoded signed 32-bit varint (record fields). */
  varint(): number {
    const raw = this.unsignedVarint();
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  /** Zigzag-encoded signed 64-bit varint, as a JS number. */
  varlong(): number {
    let raw = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.offset >= this.end) this.fail('truncated varlong');
      const byte = this.buf[this.offset++]!;
      raw += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    return this.fail('varlong longer than 10 bytes');
  }

  private utf8(length: number, what: string): string {
    this.need(length, what);
    const value = this.buf.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(): string {
    const length = this.int16();
    if (length < 0) this.fail(`null in a non-nullable string (length ${length})`);
    return this.utf8(length, 'string');
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length === -1) return null;
    if (length < 0) this.fail(`bad string length ${length}`);
    return this.utf8(length, 'string');
  }

  /** COMPACT_STRING of flexible versions (unsigned varint length + 1). */
  compactString(): string {
    const lengthPlusOne = this.unsignedVarint();
    if (lengthPlusOne === 0) this.fail('null in a non-nullable compact string');
    return this.utf8(lengthPlusOne - 1, 'compact string');
  }

  compactNullableString(): string | null {
    const lengthPlusOne = this.unsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.utf8(lengthPlusOne - 1, 'compact string');
  }

  /** `length` raw bytes as a view into the input. */
  raw(length: number, what = 'bytes'): Buffer {
    this.need(length, what);
    const value = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  bytes(): Buffer {
    const length = this.int32();
    if (length < 0) this.fail(`null in non-nullable bytes (length ${length})`);
    return this.raw(length);
  }

  nullableBytes(): Buffer | null {
    const length = this.int32();
    if (length === -1) return null;
    if (length < 0) this.fail(`bad bytes length ${length}`);
    return this.raw(length);
  }

  /** 16 raw bytes as 32 lowercase hex digits. */
  uuid(): string {
    this.need(16, 'uuid');
    const value = this.buf.toString('hex', this.offset, this.offset + 16);
    this.offset += 16;
    return value;
  }

  /** Skips the tagged-field section of a flexible version (header or body). */
  skipTaggedFields(): void {
    const count = this.unsignedVarint();
    for (let i = 0; i < count; i++) {
      this.unsignedVarint();
      const size = this.unsignedVarint();
      this.raw(size, 'tagged field');
    }
  }

  /**
   * Array length (int32; -1 means null). Every element takes at least `minElementBytes`, so a
   * count the remaining bytes cannot hold is rejected before anything is allocated.
   */
  arrayLength(minElementBytes = 1): number {
    const count = this.int32();
    if (count < -1) this.fail(`bad array length ${count}`);
    if (count > 0 && count * minElementBytes > this.end - this.offset)
      this.fail(`array of ${count} elements cannot fit in ${this.end - this.offset} bytes`);
    return count;
  }

  array<T>(readElement: (reader: Reader) => T, minElementBytes = 1): T[] {
    const count = this.arrayLength(minElementBytes);
    if (count < 0) this.fail('null in a non-nullable array');
    const items: T[] = new Array(count);
    for (let i = 0; i < count; i++) items[i] = readElement(this);
    return items;
  }

  nullableArray<T>(readElement: (reader: Reader) => T, minElementBytes = 1): T[] | null {
    const count = this.arrayLength(minElementBytes);
    if (count === -1) return null;
    const items: T[] = new Array(count);
    for (let i = 0; i < count; i++) items[i] = readElement(this);
    return items;
  }
}
