/**
 * One seed's world for the multi-group simulator. Swarm testing: each seed draws its own mix of
 * cluster shape, timing and fault rates, so some seeds hammer one fault while others see none.
 */
import type { MultiRaftDefect } from '../../cluster/multi-raft-node.js';
import type { Prng } from '../../lib/prng.js';

export interface SimMultiOptions {
  /** Nodes (brokers), ids 1..nodeCount. */
  nodeCount: number;
  /** Voters each group starts with, one entry per group (groups are 1..length). */
  groupVoters: number[];
  /** Groups (by position) no client writes to: they go quiet and stay quiet. */
  idleGroups: number;
  preVote: boolean;
  checkQuorum: boolean;
  quiesce: boolean;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  /** MultiRaftNode's commit-only HardState save interval (ticks). */
  commitSaveTicks: number;
  // clocks: each node's clock runs at a rate in [1 - drift, 1 + drift], its wall clock skewed.
  maxDrift: number;
  maxSkewMs: number;
  // network
  minDelayMs: number;
  maxDelayMs: number;
  dropRate: number;
  /**
   * Mean interval between partitions (0 = none); each lasts between half an election timeout
   * and `partitionMaxTimeouts` election timeouts (long enough, often, for leaders to react).
   */
  partitionEveryMs: number;
  partitionMaxTimeouts: number;
  // disk and crashes
  /** A log fsync takes [0, logSyncMaxMs]; a state-file replacement or sync [0, stateWriteMaxMs]. */
  logSyncMaxMs: number;
  stateWriteMaxMs: number;
  crashEveryMs: number;
  /** Share of crashes that are power losses (unsynced writes lost) rather than process kills. */
  powerLossRate: number;
  /** Share of crashes that target a node leading some group. */
  leaderCrashRate: number;
  downMinMs: number;
  downMaxMs: number;
  // membership and leadership
  membershipChangeEveryMs: number;
  transferEveryMs: number;
  /** Share of removed replicas whose node keeps running the group until the run ends. */
  removedKeepRunningRate: number;
  /** Delay before a removed replica's node removes the group (the reconciler's lag), max. */
  reconcileMaxMs: number;
  // workload
  clientsPerGroup: number;
  clientThinkMs: number;
  clientTimeoutMs: number;
  // phases
  faultPhaseMs: number;
  healPhaseMs: number;
  /** After healing: every group must elect, commit a write and converge within this. */
  livenessTimeoutMs: number;
  /** Known defects planted back into MultiRaftNode (the simulator's self-check). */
  defects: MultiRaftDefect[];
}

export function swarmMultiOptions(prng: Prng): SimMultiOptions {
  const nodeCount = prng.pick([3, 3, 4, 5]);
  const groupCount = prng.int(2, 5);
  const maxVoters = Math.min(nodeCount, 5);
  // Corners: a cluster of tiny groups (one or two voters, where a leader's commit covers its
  // own unsynced entries), and replication factor 1 next to 3 and 5 (as Kafka topics mix them).
  const small = prng.chance(0.2);
  const groupVoters = Array.from({ length: groupCount }, () =>
    small ? prng.pick([1, 2]) : Math.min(maxVoters, prng.pick([1, 3, 3, 3, 5])),
  );
  const tickMs = 10;
  const maxDelayMs = prng.pick([2, 5, 10, 30]);
  // A log fsync flushes data and can be much slower than the small state file's.
  const logSyncMaxMs = prng.pick([1, 4, 10, 30]);
  const stateWriteMaxMs = prng.pick([1, 4, 10]);
  // Raft needs broadcast time << election timeout (§5.6): a round trip is two link delays and a
  // log fsync followed by a state write.
  const roundTripMs = 2 * maxDelayMs + logSyncMaxMs + 2 * stateWriteMaxMs;
  const electionTicks = Math.max(prng.int(5, 12), Math.ceil((3 * roundTripMs) / tickMs));
  const every = (p: number, min: number, max: number) => (prng.chance(p) ? prng.int(min, max) : 0);
  return {
    nodeCount,
    groupVoters,
    idleGroups: Math.min(groupCount - 1, prng.pick([1, 1, 2])),
    preVote: prng.chance(0.7),
    checkQuorum: prng.chance(0.85),
    quiesce: prng.chance(0.9),
    tickMs,
    electionTicks,
    heartbeatTicks: prng.int(1, Math.max(1, Math.floor(electionTicks / 4))),
    commitSaveTicks: prng.pick([1, 2, 5, 10]),
    maxDrift: prng.pick([0, 0.02, 0.1]),
    maxSkewMs: prng.pick([0, 50, 5000]),
    minDelayMs: prng.int(0, 2),
    maxDelayMs,
    dropRate: prng.pick([0, 0, 0.01, 0.05]),
    partitionEveryMs: every(0.8, 300, 1000),
    partitionMaxTimeouts: prng.pick([4, 8, 16]),
    logSyncMaxMs,
    stateWriteMaxMs,
    // Two regimes: crash-heavy seeds (power losses every few hundred ms) and calmer ones.
    crashEveryMs: prng.chance(0.6) ? (prng.chance(0.5) ? prng.int(80, 300) : prng.int(300, 1500)) : 0,
    powerLossRate: prng.pick([0.6, 0.9, 1]),
    leaderCrashRate: 0.5,
    downMinMs: 20,
    downMaxMs: prng.pick([200, 800]),
    membershipChangeEveryMs: every(0.5, 200, 1000),
    transferEveryMs: every(0.4, 300, 1500),
    removedKeepRunningRate: prng.pick([0, 0.3, 1]),
    reconcileMaxMs: prng.pick([0, 50, 500]),
    clientsPerGroup: prng.int(1, 2),
    clientThinkMs: prng.int(1, 20),
    clientTimeoutMs: prng.int(100, 500),
    faultPhaseMs: 4000,
    healPhaseMs: 1000,
    livenessTimeoutMs: 20_000,
    defects: [],
  };
}

export function describeMultiOptions(options: SimMultiOptions): string {
  return Object.entries(options)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? `[${value.join(',')}]` : value}`)
    .join(' ');
}
