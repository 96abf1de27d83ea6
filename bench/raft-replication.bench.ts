/**
 * Raft replication throughput in one process: a 3-replica group vs a 1-replica group, for
 * 100 B and 64 KiB entries. The transport is an in-memory hand-off and storage is in memory
 * (one byte copy per persist and per network hop stands in for the page cache and the socket),
 * so this measures the consensus core (ready/advance loop, progress tracking, pipelining), not
 * disks or sockets. Prints committed entries/s and MB/s and the 3-vs-1 ratio.
 *
 *   npm run bench -- raft-replication
 */

import type { Term } from '../src/lib/ids.js';
import { nodeId } from '../src/lib/ids.js';
import { Prng } from '../src/lib/prng.js';
import { encodeSingleRecordBatch } from '../src/raft/entry.js';
import { RawNode } from '../src/raft/raw-node.js';
import { MemoryRaftStorage } from '../src/raft/storage.js';
import type { Message } from '../src/raft/types.js';

interface Result {
  entriesPerSecond: number;
  megabytesPerSecond: number;
}

function runGroup(replicas: number, entryBytes: number, totalBytes: number): Result {
  const voters = Array.from({ length: replicas }, (_, i) => nodeId(i + 1));
  const nodes = voters.map(
    (id) =>
      new RawNode({
        id,
        storage: new MemoryRaftStorage({ voters, learners: [] }),
        prng: new Prng(id),
        maxInflightMessages: 256,
        maxMessageBytes: 1024 * 1024,
        maxUncommittedBytes: 256 * 1024 * 1024,
      }),
  );
  const storages = nodes.map((n) => n.raft.log.storage as MemoryRaftStorage);
  const leader = nodes[0]!;
  leader.campaign();
  let queue: Message[] = [];
  let committed = 0;
  const pump = () => {
    for (let round = 0; round < 1000; round++) {
      let moved = false;
      for (let i = 0; i < nodes.length; i++) {
        const node = nodes[i]!;
        if (!node.hasReady()) continue;
        moved = true;
        const ready = node.ready();
        if (ready.snapshot) storages[i]!.applySnapshot(ready.snapshot);
        // One copy per persist, as a write into the page cache would make.
        storages[i]!.append(ready.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })));
        if (ready.hardState) storages[i]!.setHardState(ready.hardState);
        queue.push(...ready.messages);
        if (i === 0) committed += ready.committedEntries.length;
        node.advance();
      }
      const delivering = queue;
      queue = [];
      // One copy per network hop, as serialising onto a socket would make.
      for (const m of delivering) {
        const entries =
          m.entries.length === 0 ? m.entries : m.entries.map((e) => ({ ...e, data: Buffer.from(e.data) }));
        nodes[m.to - 1]!.step({ ...m, entries });
      }
      if (!moved && queue.length === 0) return;
    }
  };
  pump();
  const payload = encodeSingleRecordBatch({
    term: 1 as Term,
    timestampMs: 0,
    key: null,
    value: new Uint8Array(entryBytes - 70).fill(7),
  });
  const total = Math.max(200, Math.floor(totalBytes / payload.length));
  const perFlush = Math.max(1, Math.min(256, Math.floor((4 * 1024 * 1024) / payload.length)));
  committed = 0;
  const startMs = performance.now();
  let proposed = 0;
  while (committed < total) {
    // Like the broker: propose what arrived in this flush cycle, then run one ready loop.
    for (let i = 0; i < perFlush && proposed < total; i++, proposed++) leader.propose(payload);
    pump();
  }
  const seconds = (performance.now() - startMs) / 1000;
  return {
    entriesPerSecond: total / seconds,
    megabytesPerSecond: (total * payload.length) / seconds / 1e6,
  };
}

for (const entryBytes of [100, 64 * 1024]) {
  const totalBytes = entryBytes === 100 ? 20e6 : 400e6;
  runGroup(3, entryBytes, totalBytes / 10); // warm-up
  const single = runGroup(1, entryBytes, totalBytes);
  const triple = runGroup(3, entryBytes, totalBytes);
  console.log(
    `${String(entryBytes).padStart(6)} B entries: 1 replica ${Math.round(single.entriesPerSecond)} entries/s ` +
      `${single.megabytesPerSecond.toFixed(1)} MB/s | 3 replicas ${Math.round(triple.entriesPerSecond)} entries/s ` +
      `${triple.megabytesPerSecond.toFixed(1)} MB/s | 3-replica/1-replica = ${(triple.entriesPerSecond / single.entriesPerSecond).toFixed(2)}`,
  );
}
