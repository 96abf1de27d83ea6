/**
 * Content-hash de-duplication (`deduplication_enabled`, the original system's 消息去重): for
 * producers that are not idempotent, a batch whose every record (key, value, headers — hashed in
 * the native core) was already stored in the partition within the window is answered with the
 * offset of its first record's original and not stored again. The window is bounded by time
 * (`deduplication_window`) and by records (`deduplication_window_records`) per partition.
 *
 * Every replica derives the window from the entries it applies (leader or not), so a new leader
 * de-duplicates as the old one did; a restart replays enough of the log to rebuild it.
 */

export interface ContentWindowLimits {
  windowMs: number;
  maxRecords: number;
}

/**
 * The committed records' hashes of one partition: a ring of the last `maxRecords` records (full
 * 64-bit hash, time, original offset), oldest evicted first, and a map from the hash's low 30 bits
 * (a small integer: cheap Map keys) to the ring position of its newest copy. A lookup compares the
 * full 64 bits, so two different records are never taken for each other; two records sharing the
 * low 30 bits only make the older one fall out of the map early (it may then be stored again).
 * Memory is fixed by `maxRecords`: 24 bytes of ring plus one map entry (about 80 bytes) each.
 */
export class ContentWindow {
  /** Low 30 bits of a hash → ring sequence of its newest copy. */
  private readonly seen = new Map<number, number>();
  private readonly high: Uint32Array;
  private readonly low: Uint32Array;
  private readonly times: Float64Array;
  /** Per slot: the offset of the first stored copy of its record (what a duplicate is answered with). */
  private readonly offsets: Float64Array;
  /** Sequence of the next record added; the ring holds sequences [next - count, next). */
  private next = 0;
  private count = 0;

  constructor(private readonly limits: ContentWindowLimits) {
    this.high = new Uint32Array(limits.maxRecords);
    this.low = new Uint32Array(limits.maxRecords);
    this.times = new Float64Array(limits.maxRecords);
    this.offsets = new Float64Array(limits.maxRecords);
  }

  get size(): number {
    return this.seen.size;
  }

  /** Records the hashes of a committed batch whose first record is at `baseOffset`. */
  add(hashes: Buffer, baseOffset: number, timestampMs: number): void {
    this.evictOlderThan(timestampMs - this.limits.windowMs);
    const capacity = this.limits.maxRecords;
    for (let i = 0; i * 8 < hashes.length; i++) {
      if (this.count === capacity) this.evictOldest();
      const high = hashes.readUInt32BE(i * 8);
      const low = hashes.readUInt32BE(i * 8 + 4);
      const sequence = this.next++;
      const slot = sequence % capacity;
      // A repeated record keeps its first offset; its newest copy keeps it in the window.
      const previous = this.find(high, low);
      this.offsets[slot] = previous === undefined ? baseOffset + i : this.offsets[previous % capacity]!;
      this.high[slot] = high;
      this.low[slot] = low;
      this.times[slot] = timestampMs;
      this.count++;
      this.seen.set(low & 0x3fff_ffff, sequence);
    }
  }

  /** The original offset of the record whose hash is the `i`th of `hashes`, when it is inside
   * the window at `nowMs`. */
  offsetOf(hashes: Buffer, i: number, nowMs: number): number | undefined {
    const sequence = this.find(hashes.readUInt32BE(i * 8), hashes.readUInt32BE(i * 8 + 4));
    if (sequence === undefined) return undefined;
    const slot = sequence % this.limits.maxRecords;
    if (this.times[slot]! + this.limits.windowMs < nowMs) return undefined;
    return this.offsets[slot];
  }

  /** The ring sequence holding exactly this hash, if the map points at it. */
  private find(high: number, low: number): number | undefined {
    const sequence = this.seen.get(low & 0x3fff_ffff);
    if (sequence === undefined) return undefined;
    const slot = sequence % this.limits.maxRecords;
    return this.high[slot] === high && this.low[slot] === low ? sequence : undefined;
  }

  private evictOlderThan(cutoffMs: number): void {
    while (this.count > 0 && this.times[(this.next - this.count) % this.limits.maxRecords]! < cutoffMs)
      this.evictOldest();
  }

  private evictOldest(): void {
    const sequence = this.next - this.count;
    const key = this.low[sequence % this.limits.maxRecords]! & 0x3fff_ffff;
    if (this.seen.get(key) === sequence) this.seen.delete(key);
    this.count--;
  }
}

/**
 * A batch's verdict: the offset of the original of its first record when every record of it is
 * inside the window (then nothing is stored), else undefined.
 */
export function duplicateOf(window: ContentWindow, hashes: Buffer, nowMs: number): number | undefined {
  if (hashes.length === 0) return undefined;
  let first: number | undefined;
  for (let i = 0; i * 8 < hashes.length; i++) {
    const offset = window.offsetOf(hashes, i, nowMs);
    if (offset === undefined) return undefined;
    if (i === 0) first = offset;
  }
  return first;
}
