/**
 * MultiRaftNode.removeGroup: what the cluster's reconciler calls once a replica's removal is
 * applied. The group stops (no ticks, no answers, no campaigns), its pending proposals reject,
 * its storage is closed, and the node's other groups carry on.
 */
import test from 'ava';
import { DurableRaftStorage } from '../../src/cluster/durable-raft-storage.js';
import { MultiRaftNode } from '../../src/cluster/multi-raft-node.js';
import type { RaftStateFile } from '../../src/cluster/raft-state-file.js';
import type { RaftTransport } from '../../src/cluster/raft-transport.js';
import { logIndex, nodeId } from '../../src/lib/ids.js';
import { ProposalDroppedError } from '../../src/raft/errors.js';
import { StateRole } from '../../src/raft/types.js';
import { StorageError } from '../../src/storage/errors.js';
import { MemoryLog } from '../../src/storage/memory-log.js';
import { producerBatch } from './fixtures/batches.js';

class MemoryStateFile implements RaftStateFile {
  private bytes: Buffer | null = null;
  read(): Buffer | null {
    return this.bytes;
  }
  async writeAtomically(bytes: Buffer): Promise<void> {
    this.bytes = bytes;
  }
  async sync(): Promise<void> {}
  writeAtomicallySync(bytes: Buffer): void {
    this.bytes = bytes;
  }
}

const noTransport: RaftTransport = {
  onMessage() {},
  onPeerDisconnected() {},
  send: () => false,
  flush() {},
};

function soleVoterStorage(): { storage: DurableRaftStorage; log: MemoryLog } {
  const log = new MemoryLog();
  const storage = new DurableRaftStorage({
    log,
    stateFile: new MemoryStateFile(),
    initialConfState: { voters: [nodeId(1)], learners: [] },
    wallMs: () => 0,
  });
  return { storage, log };
}

async function until(probe: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (probe()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

test('removeGroup stops the group, rejects its pending proposals, closes its storage, and the other groups carry on', async (t) => {
  const node = new MultiRaftNode({ nodeId: nodeId(1), transport: noTransport, seed: 1, tickMs: 5 });
  const first = soleVoterStorage();
  const second = soleVoterStorage();
  node.addGroup(1, first.storage);
  node.addGroup(2, second.storage);
  node.start();
  try {
    node.campaign(1);
    node.campaign(2);
    await until(
      () => node.status(1)?.role === StateRole.Leader && node.status(2)?.role === StateRole.Leader,
      'both groups elected',
    );
    const removedEvents: number[] = [];
    node.on('removed', (group: number) => removedEvents.push(group));
    // Placed before the removal runs: it is pending when the group goes.
    const pending = node.propose(1, producerBatch(Buffer.from('never')));
    await node.removeGroup(1);
    const error = await t.throwsAsync(pending, { instanceOf: ProposalDroppedError });
    t.regex(error?.message ?? '', /removed/);
    t.deepEqual(removedEvents, [1]);
    t.is(node.status(1), undefined, 'the group is gone from the node');
    t.is(node.host.group(1), undefined, 'and from the host');
    t.throws(() => first.log.termAt(logIndex(1)), { instanceOf: StorageError }, 'its log is closed');
    await t.throwsAsync(node.propose(1, producerBatch(Buffer.from('late'))), { instanceOf: RangeError });
    await t.throwsAsync(node.removeGroup(1), { instanceOf: RangeError }, 'removing twice is refused');
    const placed = await node.propose(2, producerBatch(Buffer.from('still here')));
    t.true(placed.index >= 3, 'the other group commits');
    // The same id can be added back with fresh storage (a replica placed here again).
    const again = soleVoterStorage();
    node.addGroup(1, again.storage);
    node.campaign(1);
    await until(() => node.status(1)?.role === StateRole.Leader, 'the new replica leads');
    t.truthy(await node.propose(1, producerBatch(Buffer.from('back'))));
  } finally {
    await node.close();
  }
});
