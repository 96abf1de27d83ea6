/**
 * A follower's check of the entries a leader sends, before Raft sees them. A leader reads the
 * entries a lagging follower needs from its log, and a batch there may have rotted on disk
 * since it was written (the scrubber re-verifies at a bounded rate, so it may not have reached
 * it yet). The storage core refuses such a batch when the follower appends it, but by then Raft
 * has taken the entries and the append runs in the Ready loop, where a storage error stops the
 * whole node (every partition of the broker). So an Append message carrying a damaged batch is
 * dropped here instead: the follower stays as it was, the leader sends the entries again, and
 * meanwhile the leader's own read found the damage and has it repaired (src/storage/native-log.ts
 * `readEntries`, src/broker/replica-repair.ts).
 */
import type { PeerBatch } from '../raft/multi/host.js';
import { EntryType, MessageType } from '../raft/types.js';

/** A refused message: its group, the damaged entry's LogIndex and why. */
export interface RefusedAppend {
  group: number;
  index: number;
  reason: string;
}

/**
 * `batch` without the Append messages holding an entry `verify` throws for (the data of every
 * normal entry is one RecordBatch), and the refusals.
 */
export function withoutDamagedAppends(
  batch: PeerBatch,
  verify: (data: Buffer) => void,
): { batch: PeerBatch; refused: RefusedAppend[] } {
  const refused: RefusedAppend[] = [];
  const messages = batch.messages.filter(({ group, message }) => {
    if (message.type !== MessageType.Append) return true;
    for (const entry of message.entries) {
      if (entry.type !== EntryType.Normal) continue;
      try {
        verify(Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength));
      } catch (error) {
        refused.push({ group, index: entry.index, reason: (error as Error).message });
        return false;
      }
    }
    return true;
  });
  return { batch: refused.length === 0 ? batch : { ...batch, messages }, refused };
}

/** Refusals are logged at most once per group per this long (the leader resends often). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** `withoutDamagedAppends` for a node: logs each group's refusals, at most once per 10 s. */
export class DamagedAppendFilter {
  private readonly loggedMs = new Map<number, number>();
  private refusedSinceLog = new Map<number, number>();

  constructor(
    private readonly verify: (data: Buffer) => void,
    private readonly logger: { warn(fields: object, message?: string): void },
  ) {}

  filter(batch: PeerBatch): PeerBatch {
    const checked = withoutDamagedAppends(batch, this.verify);
    const nowMs = Date.now();
    for (const refusal of checked.refused) {
      const refused = (this.refusedSinceLog.get(refusal.group) ?? 0) + 1;
      if (nowMs - (this.loggedMs.get(refusal.group) ?? -Infinity) < REFUSAL_LOG_INTERVAL_MS) {
        this.refusedSinceLog.set(refusal.group, refused);
        continue;
      }
      this.loggedMs.set(refusal.group, nowMs);
      this.refusedSinceLog.delete(refusal.group);
      this.logger.warn(
        { from: batch.from, ...refusal, refused },
        'refused entries from the leader holding a damaged batch; it sends them again once repaired',
      );
    }
    return checked.batch;
  }
}
