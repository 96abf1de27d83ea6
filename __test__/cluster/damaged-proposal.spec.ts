/**
 * A group of one (no peer to repair from) applies a damaged committed entry marked `damaged`, and
 * its state machines pass over the bytes. When that entry is one this node proposed (it rotted
 * between its append and its apply), the proposal must not be acknowledged as written: reads of
 * it answer CORRUPT_MESSAGE. It resolved as a success before.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { MultiRaftNode } from '../../src/cluster/multi-raft-node.js';
import { Transport } from '../../src/cluster/transport.js';
import { type LogIndex, nodeId } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { ProposalDroppedError } from '../../src/raft/errors.js';
import { type Entry, StateRole } from '../../src/raft/types.js';
import { openNativeLog } from '../../src/storage/index.js';
import { producerBatch } from './fixtures/batches.js';

/** Storage whose reads mark the entries at `damagedIndexes` damaged, as a rotted batch is read. */
class RottingStorage extends DurableRaftStorage {
  readonly damagedIndexes = new Set<number>();
  override entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    const entries = super.entries(lo, hi, maxBytes);
    const at = entries.findIndex((entry) => this.damagedIndexes.has(entry.index));
    if (at < 0) return entries;
    // As NativeLog.readEntries: the entries before a damaged one, or the damaged one alone.
    return at > 0 ? entries.slice(0, at) : [{ ...entries[0]!, damaged: true }];
  }
}

test('a group of one rejects its own proposal whose entry was damaged on disk before it was applied', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'goqueue-damaged-proposal-'));
  const transport = new Transport({
    nodeId: nodeId(1),
    listen: { host: '127.0.0.1', port: 0 },
    peers: new Map(),
    prng: new Prng(1),
    autoFlush: false,
  });
  // One committed entry per Ready: proposals made together commit at once, and those past the
  // first are read back from storage to be applied, after their Ready stored them.
  const node = new MultiRaftNode({
    nodeId: nodeId(1),
    transport,
    seed: 1,
    tickMs: 20,
    raft: { maxCommittedBytesPerReady: 1 },
  });
  t.teardown(async () => {
    await node.close();
    await transport.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const dir = join(root, 'group-1');
  mkdirSync(dir, { recursive: true });
  const storage = new RottingStorage({
    log: openNativeLog(join(dir, 'log')),
    dir,
    initialConfState: { voters: [nodeId(1)], learners: [] },
    fsync: false,
  });
  const applied: Entry[] = [];
  node.addGroup(1, storage, { onApply: (entries) => applied.push(...entries) });
  await transport.start();
  node.start();
  node.campaign(1);
  const deadline = performance.now() + 10_000;
  while (node.status(1)?.role !== StateRole.Leader) {
    if (performance.now() > deadline) throw new Error('node 1 never led its group');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const first = await node.propose(1, producerBatch(Buffer.from('first')));
  // Of three proposals made together, the second rots before it is read back to be applied.
  const damagedIndex = first.index + 2;
  storage.damagedIndexes.add(damagedIndex);
  const outcomes = await Promise.all(
    ['before', 'rotted', 'after'].map((value) =>
      node.propose(1, producerBatch(Buffer.from(value))).then(
        (placed) => placed.index as number,
        (error: unknown) => error,
      ),
    ),
  );
  t.is(outcomes[0], first.index + 1);
  t.true(outcomes[1] instanceof ProposalDroppedError, `the damaged proposal was ${String(outcomes[1])}`);
  t.is(outcomes[2], first.index + 3);
  t.deepEqual(
    applied.filter((entry) => entry.damaged === true).map((entry) => entry.index as number),
    [damagedIndex],
    'applied marked, for the state machine to pass over',
  );
  const after = await node.propose(1, producerBatch(Buffer.from('after')));
  t.is(after.index as number, first.index + 4, 'the group goes on');
});
