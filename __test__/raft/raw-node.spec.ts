/**
 * RawNode's contract with its host, beyond what the scripted interaction tests show: what a
 * node refuses to start from, and the methods a host uses instead of reaching into the core.
 */
import test from 'ava';
import { AssertionError } from '../../src/lib/assert.js';
import { logIndex, type NodeId, nodeId, term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { ConfChangeType, encodeConfChange } from '../../src/raft/conf-change.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { bootstrapSnapshot, MemoryRaftStorage } from '../../src/raft/storage.js';
import {
  type Entry,
  EntryType,
  type Message,
  MessageType,
  message,
  NO_NODE,
  StateRole,
} from '../../src/raft/types.js';

function storageWithLog(lastIndex: number): MemoryRaftStorage {
  const storage = new MemoryRaftStorage({ voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] });
  const entries = [];
  for (let index = 2; index <= lastIndex; index++)
    entries.push({ index: logIndex(index), term: term(2), type: EntryType.Noop, data: new Uint8Array(0) });
  storage.append(entries);
  return storage;
}

test('a stored commit index beyond the stored log stops the node at start instead of being clamped', (t) => {
  // The HardState (commit 5) reached the disk, the entries 4 and 5 it covers did not: the
  // host broke "entries before the HardState" (or the disk lost synced data).
  const storage = storageWithLog(3);
  storage.setHardState({ term: term(2), vote: NO_NODE, commit: logIndex(5) });
  const error = t.throws(() => new RawNode({ id: nodeId(1), storage, prng: new Prng(1) }), {
    instanceOf: AssertionError,
  });
  t.regex(error.message, /stored commit 5 is beyond the stored log \(last index 3\)/);
});

test('a stored commit index within the stored log is restored as it is', (t) => {
  const storage = storageWithLog(5);
  storage.setHardState({ term: term(2), vote: NO_NODE, commit: logIndex(4) });
  const node = new RawNode({ id: nodeId(1), storage, prng: new Prng(1) });
  t.is(node.status().commit, logIndex(4));
});

// ---- the methods a host uses instead of reaching into the core --------------------------------

const ELECTION_TICKS = 10;

/** Three voters, delivered to by hand; node 1 is elected and its no-op committed. */
function cluster() {
  const voters = [nodeId(1), nodeId(2), nodeId(3)];
  const nodes = new Map<NodeId, RawNode>();
  const storages = new Map<NodeId, MemoryRaftStorage>();
  for (const id of voters) {
    const storage = new MemoryRaftStorage({ voters, learners: [] });
    storages.set(id, storage);
    nodes.set(
      id,
      new RawNode({ id, storage, prng: new Prng(id), electionTicks: ELECTION_TICKS, checkQuorum: true }),
    );
  }
  let inFlight: Message[] = [];
  /** Handles every Ready and delivers every message (unless `cut` drops it) until nothing moves. */
  const stabilize = (cut: (m: Message) => boolean = () => false) => {
    for (let round = 0; round < 100; round++) {
      for (const node of nodes.values()) {
        while (node.hasReady()) {
          const ready = node.ready();
          const storage = storages.get(node.id)!;
          if (ready.snapshot) storage.applySnapshot(ready.snapshot);
          storage.append(ready.entries);
          if (ready.hardState) storage.setHardState(ready.hardState);
          inFlight.push(...ready.messages);
          node.advance();
        }
      }
      if (inFlight.length === 0) return;
      const batch = inFlight;
      inFlight = [];
      for (const m of batch) if (!cut(m)) nodes.get(m.to)!.step(m);
    }
    throw new Error('did not settle');
  };
  const node = (id: number) => nodes.get(nodeId(id))!;
  /** Handles node `id`'s Readys without delivering: the messages it sent and the reads it answered. */
  const drain = (id: number) => {
    const sent: Message[] = [];
    const reads: string[] = [];
    const raw = node(id);
    while (raw.hasReady()) {
      const ready = raw.ready();
      const storage = storages.get(raw.id)!;
      storage.append(ready.entries);
      if (ready.hardState) storage.setHardState(ready.hardState);
      sent.push(...ready.messages);
      for (const read of ready.readStates) reads.push(new TextDecoder().decode(read.requestContext));
      raw.advance();
    }
    return { sent, reads };
  };
  node(1).campaign();
  stabilize();
  return { node, stabilize, drain };
}

test('a host reads role, leader, term, indexes and membership through RawNode', (t) => {
  const { node } = cluster();
  t.is(node(1).role, StateRole.Leader);
  t.is(node(2).role, StateRole.Follower);
  t.is(node(2).leader, nodeId(1));
  t.is(node(2).term, node(1).term);
  t.deepEqual([node(1).commitIndex, node(1).lastIndex, node(1).appliedIndex], [2, 2, 2].map(logIndex));
  t.deepEqual(node(3).confState().voters, [1, 2, 3].map(nodeId));
  t.true(node(1).isVoter(nodeId(3)));
  t.false(node(1).isVoter(nodeId(4)));
  t.deepEqual(node(1).peers(), [2, 3].map(nodeId));
  t.deepEqual(node(2).peers(), [], 'a follower replicates to nobody');
  t.true(node(1).replicatesTo(nodeId(2)));
  t.false(node(1).replicatesTo(nodeId(1)));
});

test('isIdleLeader: only a leader with everything committed, applied and on every peer, nothing pending', (t) => {
  const { node, stabilize } = cluster();
  t.true(node(1).isIdleLeader());
  t.false(node(2).isIdleLeader(), 'a follower is never an idle leader');
  node(1).propose(new TextEncoder().encode('x'));
  t.false(node(1).isIdleLeader(), 'an uncommitted entry');
  stabilize((m) => m.to === nodeId(3));
  t.false(node(1).isCaughtUp(nodeId(3)));
  t.false(node(1).isIdleLeader(), 'node 3 lacks the entry');
  node(1).tick(); // a heartbeat: node 3's answer shows the leader what it lacks
  stabilize();
  t.true(node(1).isCaughtUp(nodeId(3)));
  t.true(node(1).isIdleLeader());
  node(1).readIndex(new TextEncoder().encode('read'));
  t.false(node(1).isIdleLeader(), 'a read waits for its heartbeat round');
  stabilize();
  t.true(node(1).isIdleLeader());
});

test('awaitsCommitReports and resendCommit: a leader is idle only once every peer reported its commit; the commit sent again brings the report', (t) => {
  const { node, stabilize } = cluster();
  node(1).propose(new TextEncoder().encode('x'));
  // Node 3 receives the entry but loses the Append that carries the commit afterwards.
  stabilize((m) => m.to === nodeId(3) && m.type === MessageType.Append && m.entries.length === 0);
  t.true(node(1).isCaughtUp(nodeId(3)));
  t.true(node(3).commitIndex < node(1).commitIndex, 'node 3 missed the commit');
  t.false(node(1).isIdleLeader(), 'node 3 has not reported the commit');
  t.true(node(1).awaitsCommitReports());
  t.false(node(2).awaitsCommitReports(), 'only a leader waits for reports');
  node(1).resendCommit();
  stabilize();
  t.is(node(3).commitIndex, node(1).commitIndex);
  t.false(node(1).awaitsCommitReports());
  t.true(node(1).isIdleLeader());
});

test('expireLease: a follower inside its lease ignores a vote request, with the lease expired it answers', (t) => {
  const { node } = cluster();
  const vote = message({
    type: MessageType.Vote,
    from: nodeId(3),
    to: nodeId(2),
    term: term(node(2).term + 1),
    index: node(2).lastIndex,
    logTerm: node(2).term,
  });
  const before = node(2).term;
  node(2).step(vote);
  t.is(node(2).term, before, 'inside the lease: ignored');
  node(2).expireLease();
  node(2).step(vote);
  t.is(node(2).term, vote.term, 'lease expired: the vote request is answered');
  t.is(node(2).status().vote, nodeId(3));
});

test('checkQuorumNow: a leader the host sees cut off from a quorum steps down at once; one that hears a quorum stays', (t) => {
  const { node } = cluster();
  node(1).checkQuorumNow((peer) => peer === nodeId(2));
  t.is(node(1).role, StateRole.Leader, 'hears node 2: a quorum with itself');
  node(1).checkQuorumNow(() => false);
  t.is(node(1).role, StateRole.Follower);
});

test('restartQuorumCheck: peers the host heard from count as active for one more CheckQuorum window', (t) => {
  const { node } = cluster();
  const tickLeader = () => {
    for (let i = 0; i < ELECTION_TICKS; i++) node(1).tick();
  };
  tickLeader(); // the window of the election: peers answered, so it stays; activity resets
  t.is(node(1).role, StateRole.Leader);
  node(1).restartQuorumCheck(() => true); // e.g. waking from quiescence, every peer alive
  tickLeader(); // nothing delivered, but the host vouched for its peers
  t.is(node(1).role, StateRole.Leader);
  tickLeader(); // nothing delivered and nobody vouched: CheckQuorum steps it down
  t.is(node(1).role, StateRole.Follower);
});

// ---- a node added after the snapshot it installs (docs/raft.md, Membership, rule 6) ----------

/**
 * Node 4, empty, receives from leader 1 (term 3) the bootstrap snapshot of a group whose first
 * membership was {1,2,4}: the seat of 4 there belonged to a replica since deleted. The change
 * that added node 4 back is entry 7 (term 3). Returns the node and its storage, the snapshot
 * persisted as the Ready contract says.
 */
function joiningNode() {
  const storage = new MemoryRaftStorage();
  const options = { id: nodeId(4), storage, prng: new Prng(4), electionTicks: ELECTION_TICKS };
  const rawNode = new RawNode(options);
  const snapshot = bootstrapSnapshot({ voters: [1, 2, 4].map(nodeId), learners: [] });
  rawNode.step(
    message({
      type: MessageType.Snapshot,
      from: nodeId(1),
      to: nodeId(4),
      term: term(3),
      snapshot,
      index: logIndex(7),
      logTerm: term(3),
    }),
  );
  const ready = rawNode.ready();
  persist(storage, ready);
  rawNode.advance();
  return { rawNode, storage, options };
}

function persist(storage: MemoryRaftStorage, ready: ReturnType<RawNode['ready']>): void {
  if (ready.snapshot) storage.applySnapshot(ready.snapshot);
  storage.append(ready.entries);
  if (ready.hardState) storage.setHardState(ready.hardState);
}

function voteFrom(candidate: number, lastIndex: number, type = MessageType.Vote): Message {
  return message({
    type,
    from: nodeId(candidate),
    to: nodeId(4),
    term: term(4),
    index: logIndex(lastIndex),
    logTerm: term(3),
  });
}

function answers(rawNode: RawNode): Array<{ type: MessageType; reject: boolean }> {
  return rawNode.ready().messages.map((m) => ({ type: m.type, reject: m.reject }));
}

test('a joining node does not campaign, also after a restart, and keeps the change in the snapshot it stores', (t) => {
  const { rawNode, storage, options } = joiningNode();
  t.true(rawNode.raft.isJoining());
  t.deepEqual(storage.snapshot().metadata.confState.addedAt, { index: logIndex(7), term: term(3) });
  for (let i = 0; i < 3 * ELECTION_TICKS; i++) rawNode.tick();
  t.is(rawNode.role, StateRole.Follower);
  t.is(rawNode.term, term(3), 'no campaign, not even a pre-vote');
  const restarted = new RawNode(options);
  t.true(restarted.raft.isJoining(), 'the stored snapshot keeps the node joining');
  for (let i = 0; i < 3 * ELECTION_TICKS; i++) restarted.tick();
  t.is(restarted.term, term(3));
  // A snapshot the node takes before the change (at its applied index 1) carries it on.
  t.deepEqual(restarted.confStateAt(logIndex(1)).addedAt, { index: logIndex(7), term: term(3) });
});

test('a joining node refuses votes and pre-votes to candidates whose log ends before the change that added it', (t) => {
  const { rawNode } = joiningNode();
  rawNode.expireLease(); // the leader fell silent: vote requests are answered
  rawNode.step(voteFrom(2, 6, MessageType.PreVote));
  rawNode.step(voteFrom(2, 6));
  t.deepEqual(answers(rawNode), [
    { type: MessageType.PreVoteResponse, reject: true },
    { type: MessageType.VoteResponse, reject: true },
  ]);
});

test('a joining node votes for a candidate whose log holds the change that added it', (t) => {
  // {2} adding 4 as a second voter: if 2 restarts before 4 catches up, 2 needs 4's vote.
  const { rawNode } = joiningNode();
  rawNode.expireLease();
  rawNode.step(voteFrom(2, 7));
  t.deepEqual(answers(rawNode), [{ type: MessageType.VoteResponse, reject: false }]);
});

test('a node stops joining once its log holds the change that added it', (t) => {
  const { rawNode } = joiningNode();
  const entries: Entry[] = [];
  for (let index = 2; index <= 6; index++)
    entries.push({ index: logIndex(index), term: term(3), type: EntryType.Noop, data: new Uint8Array(0) });
  const append = (list: typeof entries, prev: number) =>
    rawNode.step(
      message({
        type: MessageType.Append,
        from: nodeId(1),
        to: nodeId(4),
        term: term(3),
        index: logIndex(prev),
        logTerm: term(prev === 1 ? 1 : 3),
        entries: list,
        commit: logIndex(1),
      }),
    );
  append(entries, 1);
  t.true(rawNode.raft.isJoining(), 'entry 7 not yet held');
  const change = encodeConfChange({ type: ConfChangeType.AddVoter, node: nodeId(4) });
  append([{ index: logIndex(7), term: term(3), type: EntryType.ConfChange, data: change }], 6);
  t.false(rawNode.raft.isJoining());
  t.is(rawNode.confStateAt(logIndex(7)).addedAt, undefined);
  t.deepEqual(rawNode.confStateAt(logIndex(6)).addedAt, { index: logIndex(7), term: term(3) });
});

test('ReadIndex: an earlier round’s heartbeat answer, delivered again late, confirms no later read, also one reopening the same context (a duplicated request)', (t) => {
  const { node, drain } = cluster();
  const context = new TextEncoder().encode('read-x');
  node(1).readIndex(context);
  const heartbeats = drain(1).sent.filter((m) => m.type === MessageType.Heartbeat);
  t.is(heartbeats.length, 2);
  const answers: Message[] = [];
  for (const heartbeat of heartbeats) {
    node(heartbeat.to).step(heartbeat);
    answers.push(...drain(heartbeat.to).sent.filter((m) => m.type === MessageType.HeartbeatResponse));
  }
  node(1).step(answers[0]!);
  t.deepEqual(drain(1).reads, ['read-x'], 'the first round is confirmed by its own answer');
  // The same request again (a duplicate delivered late): a new round, whose heartbeats are lost.
  node(1).readIndex(context);
  drain(1);
  // Node 2's answer to the first round arrives a second time (duplicated, reordered).
  node(1).step(answers[0]!);
  t.deepEqual(drain(1).reads, [], 'an answer sent before the round began proves nothing about it');
  node(1).step(answers[1]!);
  t.deepEqual(drain(1).reads, []);
});
