/**
 * The multi-Raft host: many groups per node, one batch per peer per flush, coalesced
 * heartbeats, quiescence of idle groups, and wake-up when a leader's node fails.
 */
import test, { type ExecutionContext } from 'ava';
import type { NodeId } from '../../src/lib/ids.js';
import { nodeId } from '../../src/lib/ids.js';
import { ConfChangeType } from '../../src/raft/conf-change.js';
import type { HostReady } from '../../src/raft/multi/host.js';
import { MessageType, StateRole } from '../../src/raft/types.js';
import { MultiCluster } from '../../src/testing/multi-cluster.js';

const encoder = new TextEncoder();
const groupOptions = { electionTicks: 10, heartbeatTicks: 2 };

function leaderOf(cluster: MultiCluster, group: number): NodeId | undefined {
  for (const [id, host] of cluster.hosts) {
    if (cluster.down.has(id)) continue;
    if (host.group(group)?.raft.role === StateRole.Leader) return id;
  }
  return undefined;
}

/** A cluster of 3 nodes and `groups` groups, leaders spread round-robin, settled. */
function startCluster(
  groups: number,
  onApply?: (group: number, data: string) => void,
  quiesce = true,
): MultiCluster {
  const cluster = new MultiCluster({
    nodes: 3,
    groupOptions,
    quiesce,
    ...(onApply
      ? { onApply: (_node, group, entry) => onApply(group, new TextDecoder().decode(entry.data)) }
      : {}),
  });
  for (let g = 1; g <= groups; g++) cluster.addGroup(g);
  for (let g = 1; g <= groups; g++) cluster.host(((g - 1) % 3) + 1).campaign(g);
  cluster.flush();
  return cluster;
}

function run(cluster: MultiCluster, ticks: number): void {
  for (let i = 0; i < ticks; i++) {
    cluster.tick();
    cluster.flush();
  }
}

test('every group elects a leader and commits proposals; a flush sends at most one batch per peer', (t) => {
  const applied = new Map<number, string[]>();
  const cluster = startCluster(30, (group, data) => {
    if (data !== '') applied.set(group, [...(applied.get(group) ?? []), data]);
  });
  for (let g = 1; g <= 30; g++) t.is(leaderOf(cluster, g), nodeId(((g - 1) % 3) + 1), `group ${g} leader`);
  for (let g = 1; g <= 30; g++) cluster.host(leaderOf(cluster, g)!).propose(g, encoder.encode(`write-${g}`));
  let inspected = false;
  cluster.flushOnce((node, ready) => {
    if (node !== nodeId(1)) return;
    inspected = true;
    const destinations = ready.batches.map((b) => b.to).sort();
    t.deepEqual(destinations, [nodeId(2), nodeId(3)], 'one batch per peer');
    for (const batch of ready.batches)
      t.is(batch.messages.length, 10, 'each batch carries the appends of the 10 groups node 1 leads');
  });
  t.true(inspected);
  cluster.flush();
  for (let g = 1; g <= 30; g++)
    t.true((applied.get(g) ?? []).includes(`write-${g}`), `group ${g} applied its write`);
});

test('idle groups go quiet: two nodes exchange the same number of batches for 10 or 300 groups, and no group messages', (t) => {
  const measure = (groups: number) => {
    const cluster = startCluster(groups);
    run(cluster, 40); // settle and quiesce
    const stats = cluster.host(1).stats();
    cluster.resetCounters();
    run(cluster, 100);
    return { stats, ...cluster.counters };
  };
  const small = measure(10);
  const large = measure(300);
  t.is(large.stats.quiet, 300, 'every group on node 1 is quiet');
  t.is(large.groupMessages, 0);
  t.is(large.batches, small.batches, 'liveness traffic does not depend on the number of groups');
  // Liveness both ways: a peer that has not answered for a third of an election timeout gets
  // one probe (a quiesce heartbeat of one group) and answers it: per node pair, not per group.
  t.is(large.heartbeats, small.heartbeats, 'probes do not depend on the number of groups');
  t.is(large.heartbeatResponses, large.heartbeats, 'every probe is answered');
  const probeTicks = Math.floor(groupOptions.electionTicks / 3);
  t.true(large.heartbeats <= 6 * Math.ceil(100 / probeTicks), `${large.heartbeats} probes in 100 ticks`);
  t.true(
    large.batches <= 6 * (100 / groupOptions.heartbeatTicks + Math.ceil(100 / probeTicks)) + 6,
    `${large.batches} batches in 100 ticks`,
  );
});

test('heartbeats of awake groups are coalesced: one batch per node pair per interval names all groups', (t) => {
  const cluster = startCluster(60, undefined, false);
  run(cluster, 5);
  cluster.resetCounters();
  run(cluster, 20); // 10 heartbeat intervals
  // Each group's leader heartbeats its 2 followers every interval: 60 × 2 × 10 heartbeats,
  // carried in 6 node-pair batches per interval (plus the responses' batches).
  t.is(cluster.counters.heartbeats, 60 * 2 * 10);
  t.is(cluster.counters.heartbeatResponses, 60 * 2 * 10);
  t.true(cluster.counters.batches <= 6 * 10 * 2, `${cluster.counters.batches} batches for 1200 heartbeats`);
  t.is(cluster.counters.groupMessages, 0);
});

test('a quiet group wakes on a proposal and commits it', (t) => {
  const applied: string[] = [];
  const cluster = startCluster(6, (group, data) => {
    if (group === 4 && data !== '') applied.push(data);
  });
  run(cluster, 40);
  t.is(cluster.host(1).stats().quiet, 6);
  cluster.host(leaderOf(cluster, 4)!).propose(4, encoder.encode('after-quiet'));
  cluster.flush();
  run(cluster, 3);
  t.is(applied.filter((d) => d === 'after-quiet').length, 3, 'applied on all three nodes');
});

test('when the node leading quiet groups dies, those groups elect new leaders on the other nodes', (t) => {
  const cluster = startCluster(9);
  run(cluster, 40);
  t.is(cluster.host(2).stats().quiet, 9);
  cluster.down.add(nodeId(1));
  run(cluster, 120);
  for (let g = 1; g <= 9; g++) {
    const leader = leaderOf(cluster, g);
    t.truthy(leader, `group ${g} has a leader`);
    t.not(leader, nodeId(1));
  }
});

/** A cluster whose `groups` groups are all led by node 1, settled and quiet. */
function quietClusterLedByNodeOne(t: ExecutionContext, groups: number): MultiCluster {
  const cluster = new MultiCluster({ nodes: 3, groupOptions, quiesce: true });
  for (let g = 1; g <= groups; g++) cluster.addGroup(g);
  for (let g = 1; g <= groups; g++) cluster.host(1).campaign(g);
  cluster.flush();
  run(cluster, 40);
  t.is(cluster.host(1).stats().quiet, groups, 'every group node 1 leads is quiet');
  for (let g = 1; g <= groups; g++) t.is(leaderOf(cluster, g), nodeId(1));
  return cluster;
}

test('a quiet leader cut off from its followers steps down within about an election timeout, and the others elect a new leader', (t) => {
  const groups = 5;
  const cluster = quietClusterLedByNodeOne(t, groups);
  const oldTerm = cluster.host(1).group(1)!.raft.term;
  cluster.cut.add(nodeId(1));
  let steppedDownAfter = -1;
  const electionTimeouts = 200;
  for (let tick = 1; tick <= electionTimeouts * groupOptions.electionTicks; tick++) {
    run(cluster, 1);
    const leading = Array.from({ length: groups }, (_, i) => i + 1).filter(
      (g) => cluster.host(1).group(g)!.raft.role === StateRole.Leader,
    );
    if (steppedDownAfter < 0 && leading.length === 0) steppedDownAfter = tick;
  }
  for (let g = 1; g <= groups; g++) {
    const node = cluster.host(1).group(g)!.raft;
    t.not(node.role, StateRole.Leader, `node 1 no longer says it leads group ${g} (term ${node.term})`);
    const elsewhere = [2, 3].map((id) => cluster.host(id).group(g)!.raft);
    const leader = elsewhere.find((raft) => raft.role === StateRole.Leader);
    t.truthy(leader, `group ${g} has a leader among the connected nodes`);
    t.true(leader!.term > oldTerm, `in a later term than ${oldTerm}`);
  }
  // Silence is noticed after one election timeout, CheckQuorum fires within the next one.
  t.true(
    steppedDownAfter > 0 && steppedDownAfter <= 3 * groupOptions.electionTicks,
    `stepped down after ${steppedDownAfter} ticks`,
  );
});

test('quiet leaders that still hear from a quorum stay quiet and unticked when one follower node dies', (t) => {
  const groups = 20;
  const cluster = quietClusterLedByNodeOne(t, groups);
  const before = cluster.host(1).stats().groupTicks;
  cluster.down.add(nodeId(3));
  run(cluster, 20 * groupOptions.electionTicks);
  t.is(cluster.host(1).stats().quiet, groups, 'no group woke');
  t.is(cluster.host(1).stats().groupTicks, before, 'and none was ticked');
  for (let g = 1; g <= groups; g++) t.is(leaderOf(cluster, g), nodeId(1));
});

test('a quiet leader that hears its follower but cannot reach it steps down once the follower campaigns (one-way cut, two voters)', (t) => {
  // Node-level liveness says the follower is alive (its batches arrive), so silence never wakes
  // the leader; the follower's campaign must make it prove contact through CheckQuorum.
  const cluster = new MultiCluster({ nodes: 2, groupOptions, quiesce: true });
  cluster.addGroup(1);
  cluster.host(1).campaign(1);
  cluster.flush();
  run(cluster, 40);
  t.is(cluster.host(1).stats().quiet, 1);
  cluster.cutLinks.add('1>2');
  run(cluster, 200 * groupOptions.electionTicks);
  t.not(cluster.host(1).group(1)!.raft.role, StateRole.Leader, 'node 1 no longer claims leadership');
});

test('a learner that missed the commit index before its group went quiet still learns it: the leader goes quiet only once every member reported its commit (sim-multi seed 7224)', (t) => {
  // The last commit reaches a follower in the Append that follows the commit or in the quiesce
  // heartbeat. A learner never campaigns, so if both are lost and the leader goes quiet anyway,
  // nothing wakes the group and the learner stays one commit behind until the next write.
  const cluster = new MultiCluster({ nodes: 3, groupOptions, quiesce: true });
  cluster.addGroup(1);
  cluster.host(1).campaign(1);
  cluster.flush();
  cluster.host(1).proposeConfChange(1, { type: ConfChangeType.AddLearner, node: nodeId(3) });
  cluster.flush();
  run(cluster, 40);
  t.is(cluster.host(1).stats().quiet, 1, 'the idle group is quiet');
  t.deepEqual(cluster.host(3).group(1)!.confState().learners, [nodeId(3)]);
  cluster.host(1).propose(1, encoder.encode('last'));
  let droppedCommitAppend = false;
  let droppedQuiesce = false;
  const dropCommitToLearner = (_node: NodeId, ready: HostReady) => {
    for (const batch of ready.batches) {
      if (batch.to !== nodeId(3)) continue;
      const commitOnly = batch.messages.findIndex(
        ({ message: m }) => m.type === MessageType.Append && m.entries.length === 0,
      );
      if (commitOnly >= 0 && !droppedCommitAppend) {
        droppedCommitAppend = true;
        batch.messages.splice(commitOnly, 1);
      }
      const quiesce = batch.heartbeats.findIndex((hb) => hb.quiesce);
      if (quiesce >= 0 && !droppedQuiesce) {
        droppedQuiesce = true;
        batch.heartbeats.splice(quiesce, 1);
      }
    }
  };
  for (let tick = 0; tick < 40 * groupOptions.electionTicks; tick++) {
    cluster.tick();
    for (let round = 0; round < 100 && cluster.flushOnce(dropCommitToLearner); round++) {}
  }
  t.true(droppedCommitAppend, 'the Append carrying the commit was lost');
  const leader = cluster.host(1).group(1)!;
  const learner = cluster.host(3).group(1)!;
  t.is(learner.commitIndex, leader.commitIndex, 'the learner knows the last commit');
  t.is(cluster.host(1).stats().quiet, 1, 'and the group went quiet again');
});

test('a quiet leader that hears a quorum but reaches no one steps down once its peers stop answering, though no campaign reaches it (one-way cuts, sim-multi seeds 7356 and 8000)', (t) => {
  // Node 1 leads; it still hears node 2 but cannot reach 2 or 3, and 3 cannot reach it. Node 3
  // wins the next term with node 2's vote, so node 2 never campaigns to node 1, and node 1's
  // liveness view (it hears a quorum: itself and node 2) never wakes the group: without
  // answers counted at the node level it claims leadership until the cut heals.
  const cluster = quietClusterLedByNodeOne(t, 1);
  const oldTerm = cluster.host(1).group(1)!.raft.term;
  for (const link of ['1>2', '1>3', '3>1']) cluster.cutLinks.add(link);
  let ticks = 0;
  while (cluster.host(2).stats().quiet > 0 && ticks < 100 * groupOptions.electionTicks) {
    run(cluster, 1);
    ticks++;
  }
  t.is(cluster.host(2).stats().quiet, 0, "node 2's group woke when node 1 fell silent");
  cluster.host(3).campaign(1);
  cluster.flush();
  run(cluster, 2 * groupOptions.electionTicks);
  const newLeader = cluster.host(3).group(1)!.raft;
  t.is(newLeader.role, StateRole.Leader, 'node 3 leads');
  t.true(newLeader.term > oldTerm);
  let steppedDownAfter = -1;
  for (let tick = 1; tick <= 50 * groupOptions.electionTicks && steppedDownAfter < 0; tick++) {
    run(cluster, 1);
    if (cluster.host(1).group(1)!.raft.role !== StateRole.Leader) steppedDownAfter = tick;
  }
  t.true(steppedDownAfter > 0, 'node 1 no longer claims leadership');
  t.true(
    steppedDownAfter <= 4 * groupOptions.electionTicks,
    `stepped down ${steppedDownAfter} ticks after node 3 took over`,
  );
});
