import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomically } from './metadata-store.js';

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

type GroupOffsets = Map<string, Map<number, CommittedOffset>>;

const FILE_NAME = 'consumer-offsets.json';

/**
 * Consumer groups' committed offsets, durable in `<dataDir>/consumer-offsets.json` (replaced
 * atomically). Commits that arrive while a write runs are batched into the next write, so a burst
 * of commits costs two fsync rounds, not one per commit. A commit resolves once it is on disk.
 */
export class OffsetStore {
  private readonly groups = new Map<string, GroupOffsets>();
  private writing: Promise<void> | null = null;
  private dirty = false;
  private waiters: Array<{ resolve(): void; reject(error: unknown): void }> = [];

  private constructor(private readonly path: string) {}

  static async open(dataDir: string): Promise<OffsetStore> {
    const store = new OffsetStore(join(dataDir, FILE_NAME));
    let text: string | null = null;
    try {
      text = await readFile(store.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text !== null) {
      const saved = JSON.parse(text) as Record<string, Record<string, Record<string, CommittedOffset>>>;
      for (const [groupId, topics] of Object.entries(saved)) {
        const group: GroupOffsets = new Map();
        for (const [topic, partitions] of Object.entries(topics)) {
          group.set(topic, new Map(Object.entries(partitions).map(([p, value]) => [Number(p), value])));
        }
        store.groups.set(groupId, group);
      }
    }
    return store;
  }

  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groups.get(groupId)?.get(topic)?.get(partition);
  }

  /** Every committed offset of a group, by topic. */
  all(groupId: string): Array<{ topic: string; partitions: Array<[number, CommittedOffset]> }> {
    const group = this.groups.get(groupId);
    if (group === undefined) return [];
    return [...group].map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
  }

  /** Records offsets and resolves once they are durable. */
  commit(
    groupId: string,
    offsets: Array<{ topic: string; partition: number; value: CommittedOffset }>,
  ): Promise<void> {
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = new Map();
      this.groups.set(groupId, group);
    }
    for (const { topic, partition, value } of offsets) {
      let partitions = group.get(topic);
      if (partitions === undefined) {
        partitions = new Map();
        group.set(topic, partitions);
      }
      partitions.set(partition, value);
    }
    this.dirty = true;
    const durable = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.writing === null) this.writing = this.writeLoop();
    return durable;
  }

  async close(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  private async writeLoop(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      const waiters = this.waiters;
      this.waiters = [];
      try {
        await writeJsonAtomically(this.path, this.snapshot());
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    this.writing = null;
  }

  private snapshot(): object {
    const out: Record<string, Record<string, Record<string, CommittedOffset>>> = {};
    for (const [groupId, topics] of this.groups) {
      out[groupId] = {};
      for (const [topic, partitions] of topics) out[groupId][topic] = Object.fromEntries(partitions);
    }
    return out;
  }
}
