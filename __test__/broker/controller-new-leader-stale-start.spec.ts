/**
 * A new controller leader builds records only once it has applied its own first entry
 * (Controller.appliedOwnTerm): that entry's index is taken when the 'role' event says this
 * broker leads. The event comes with the group's next Ready, but `isLeader` reads Raft's role,
 * which changes as soon as the winning vote is counted; and the index taken the last time this
 * broker led is kept when it stops leading. A command that arrives in between is checked against
 * the old index, passes at once, and builds its record on a state its predecessor's last entries
 * have not reached (a producer id block handed out already, say). Resetting the index when
 * leadership goes (or comparing the term of the last applied entry with the leader's term)
 * makes such a command wait.
 */
import { EventEmitter } from 'node:events';
import test from 'ava';
import pino from 'pino';
import { Controller } from '../../src/broker/controller.js';
import type { ControllerRpc } from '../../src/broker/controller-rpc.js';
import type { MultiRaftNode } from '../../src/cluster/multi-raft-node.js';
import { logIndex, type Term } from '../../src/lib/ids.js';
import { type Entry, EntryType, StateRole } from '../../src/raft/types.js';

/** The parts of a controller group's status the Controller reads. */
interface FakeStatus {
  role: StateRole;
  leader: number;
  term: number;
  commit: number;
  lastIndex: number;
}

/** A MultiRaftNode stand-in: a settable status, and proposals recorded with the applied index. */
class FakeNode extends EventEmitter {
  current: FakeStatus = { role: StateRole.Follower, leader: 0, term: 1, commit: 0, lastIndex: 0 };
  readonly proposals: Array<{ term: number; appliedIndex: number }> = [];
  appliedIndex: () => number = () => 0;
  status(): FakeStatus {
    return { ...this.current };
  }
  async propose(): Promise<never> {
    this.proposals.push({ term: this.current.term, appliedIndex: this.appliedIndex() });
    throw new Error('proposals stop here');
  }
}

function noops(from: number, to: number, entryTerm: number): Entry[] {
  const entries: Entry[] = [];
  for (let index = from; index <= to; index++)
    entries.push({
      index: logIndex(index),
      term: entryTerm as Term,
      type: EntryType.Noop,
      data: new Uint8Array(0),
    });
  return entries;
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

test('a command reaching a controller leader before its role event waits for the new term’s first entry to apply', async (t) => {
  const node = new FakeNode();
  const controller = new Controller({
    node: node as unknown as MultiRaftNode,
    rpc: { handle() {} } as unknown as ControllerRpc,
    brokerId: 1,
    logger: pino({ level: 'silent' }),
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    self: {
      raft: { host: '127.0.0.1', port: 1 },
      client: { host: '127.0.0.1', port: 2 },
      rack: null,
      incarnationId: 'incarnation',
    },
    isReachable: () => true,
    snapshotEveryEntries: 1_000_000,
    leaderReports: () => [],
  });
  t.teardown(() => controller.stop());
  node.appliedIndex = () => controller.appliedIndex;

  // Term 2: this broker leads from entry 5 and applies it.
  node.current = { role: StateRole.Leader, leader: 1, term: 2, commit: 5, lastIndex: 5 };
  node.emit('role', 0, StateRole.Leader, 1);
  controller.onApply(noops(1, 5, 2));
  await settle();
  // Term 3: broker 2 leads; entries 6 to 8 commit, not yet applied here.
  node.current = { role: StateRole.Follower, leader: 2, term: 3, commit: 8, lastIndex: 8 };
  node.emit('role', 0, StateRole.Follower, 2);
  await settle();
  // Term 4: this broker won the vote and appended its no-op (9); its role event is still to come.
  node.current = { role: StateRole.Leader, leader: 1, term: 4, commit: 8, lastIndex: 9 };
  const command = controller
    .execute({ op: 'allocate-producer-ids', brokerId: 1 }, 5_000)
    .catch((error: unknown) => error);
  await settle();
  // The role event, then entries 6 to 9 apply: now the command may build its record.
  node.emit('role', 0, StateRole.Leader, 1);
  node.current = { ...node.current, commit: 9 };
  controller.onApply([...noops(6, 8, 3), ...noops(9, 9, 4)]);
  await command;
  const early = node.proposals.filter((proposal) => proposal.term === 4 && proposal.appliedIndex < 9);
  t.deepEqual(early, [], 'records built in term 4 before its first entry (9) was applied');
});
