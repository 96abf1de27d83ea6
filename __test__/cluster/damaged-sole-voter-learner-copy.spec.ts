import test, { type ExecutionContext } from 'ava';
import { nodeId } from '../../src/lib/ids.js';
import type { ConfState, Entry } from '../../src/raft/types.js';
import { applyWithRetries, replicaWithRottedEntry } from './fixtures/rotted-replica.js';

/** The entry the voter's state machine is handed at the rotted index; learner 2 holds it healthy. */
async function appliedRottedEntry(t: ExecutionContext, conf: ConfState): Promise<Entry | undefined> {
  const { node, damagedIndex } = await replicaWithRottedEntry(t, 'controller', conf);
  const entry = (await applyWithRetries(node)).find((candidate) => candidate.index === damagedIndex);
  t.truthy(entry, `entry ${damagedIndex} applied`);
  return entry;
}

test('control: with a second voter the entry is held, repaired from its copy and applied healthy', async (t) => {
  const entry = await appliedRottedEntry(t, { voters: [nodeId(1), nodeId(2)], learners: [] });
  t.not(entry?.damaged, true);
});

test("a sole voter does not pass over a rotted committed entry that its learner holds healthy (the learner's state machine applied it)", async (t) => {
  const entry = await appliedRottedEntry(t, { voters: [nodeId(1)], learners: [nodeId(2)] });
  t.not(entry?.damaged, true, 'the voter passed over an entry its learner applied healthy');
});
