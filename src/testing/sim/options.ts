import type { Prng } from '../../lib/prng.js';
import { PARTITION_SHAPES, type PartitionShape } from './network.js';

/**
 * One seed's world. "Swarm testing": each seed draws its own mix of features and fault rates,
 * so some seeds hammer one fault hard while others see none of it. Mean intervals of 0 mean
 * "never".
 */
export interface SimOptions {
  /** Nodes that exist (ids 1..nodeCount); the first `initialVoters` start as voters. */
  nodeCount: number;
  initialVoters: number;
  preVote: boolean;
  checkQuorum: boolean;
  electionTicks: number;
  heartbeatTicks: number;
  tickMs: number;
  maxInflightMessages: number;
  maxMessageBytes: number;
  /** Store entries as RecordBatch bytes (entryToBatch/batchToEntry round trip on every write). */
  storeAsBatches: boolean;
  // clocks
  /** Each node ticks every tickMs × a rate drawn from [1 - clockDrift, 1 + clockDrift]. */
  clockDrift: number;
  /** Mean interval between process stalls (a GC pause: no ticks, no messages handled). */
  stallEveryMs: number;
  maxStallMs: number;
  /** After a stall the node gets the ticks it missed at once (a host that ticks by elapsed time). */
  stallCatchUpTicks: boolean;
  // network
  dropRate: number;
  duplicateRate: number;
  /** Messages on one link may overtake each other (otherwise links are FIFO, like TCP). */
  reorder: boolean;
  minDelayMs: number;
  maxDelayMs: number;
  partitionEveryMs: number;
  /** Mean interval between slowdowns of a link or of a node's links (3-20 times the delay). */
  slowLinkEveryMs: number;
  /** The shapes partitions take (see network.ts): two-way splits, one-way cuts, bridges. */
  partitionShapes: PartitionShape[];
  // disk
  /** Latency of each fsync (log, then state file): the window in which a crash loses writes. */
  minFsyncMs: number;
  maxFsyncMs: number;
  crashEveryMs: number;
  /** Chance that a crash is a power loss (unsynced writes may vanish) rather than a kill -9. */
  powerLossRate: number;
  /** On a power loss, the chance that each unsynced write had been written back anyway. */
  writebackRate: number;
  /** Chance that a crash waits for the node's next Ready and strikes while it is written or synced. */
  crashInFlightRate: number;
  /** Chance that a crash takes several nodes down at once (a rack losing power). */
  correlatedCrashRate: number;
  compactEveryMs: number;
  // membership and leadership
  membershipChangeEveryMs: number;
  /** Chance that a membership change demotes or removes the leader itself ({1,2} -> {2}). */
  selfChangeRate: number;
  /** A removed replica keeps running this long after its removal commits; -1: until the end. */
  removedLingerMs: number;
  transferEveryMs: number;
  /** When a partition starts, also change membership and transfer leadership while it lasts. */
  churnWhilePartitioned: boolean;
  readIndexEveryMs: number;
  // workload
  clients: number;
  clientThinkMs: number;
  /** A client re-proposes after this long without an acknowledgement. */
  clientTimeoutMs: number;
  // phases
  faultPhaseMs: number;
  healPhaseMs: number;
  /**
   * After the group converged: this many election timeouts of traffic with no faults, in which
   * the group must keep committing and keep its leader (a removed replica must not depose it).
   */
  steadyElectionTimeouts: number;
}

/**
 * Draws a seed's world. Besides independent dials it picks corners that independent dials
 * rarely reach together: small clusters (2 nodes, 1-2 voters), read-heavy seeds, and
 * membership churn that keeps demoting and removing the leader.
 */
export function swarmOptions(prng: Prng): SimOptions {
  // The corner where a leader demoting itself from two voters to one ({1,2} -> {2}) meets a
  // stream of reads: reached in one seed of seven, not left to independent dials.
  const smallChurn = prng.chance(0.15);
  const nodeCount = smallChurn ? 2 : prng.pick([2, 2, 3, 3, 4, 5, 6]);
  const initialVoters = smallChurn
    ? 2
    : Math.min(nodeCount, nodeCount === 2 ? prng.pick([1, 2, 2]) : prng.pick([1, 2, 3, 3, 5]));
  const readHeavy = smallChurn || prng.chance(0.3);
  const churnHeavy = smallChurn || prng.chance(0.3);
  const tickMs = 10;
  const maxDelayMs = prng.pick([5, 20, 60]);
  const maxFsyncMs = prng.pick([1, 5, 20]);
  const clockDrift = prng.pick([0, 0.02, 0.1, 0.2]);
  // Raft needs broadcast time << election timeout (§5.6): an election must fit a round trip
  // (two link delays plus two fsyncs) a few times over, even on the fastest clock.
  const roundTripMs = 2 * maxDelayMs + 2 * maxFsyncMs;
  const electionTicks = Math.max(prng.int(5, 15), Math.ceil((3 * roundTripMs) / (tickMs * (1 - clockDrift))));
  const every = (p: number, min: number, max: number) => (prng.chance(p) ? prng.int(min, max) : 0);
  const shapes = PARTITION_SHAPES.filter(() => prng.chance(0.6));
  return {
    nodeCount,
    initialVoters,
    preVote: prng.chance(0.7),
    checkQuorum: prng.chance(0.7),
    electionTicks,
    heartbeatTicks: prng.int(1, Math.max(1, Math.floor(electionTicks / 4))),
    tickMs,
    maxInflightMessages: prng.pick([1, 2, 8, 64]),
    maxMessageBytes: prng.pick([200, 4096, 1 << 20]),
    storeAsBatches: prng.chance(0.5),
    clockDrift,
    stallEveryMs: every(0.3, 300, 1500),
    maxStallMs: prng.int(20, 40 * electionTicks),
    stallCatchUpTicks: prng.chance(0.5),
    dropRate: prng.pick([0, 0.01, 0.05, 0.2]),
    duplicateRate: prng.pick([0, 0.02, 0.1]),
    reorder: prng.chance(0.3),
    minDelayMs: prng.int(0, 5),
    maxDelayMs,
    partitionEveryMs: every(0.6, 200, 1500),
    slowLinkEveryMs: every(0.4, 200, 1500),
    partitionShapes: shapes.length > 0 ? shapes : ['split'],
    minFsyncMs: prng.int(0, 1),
    maxFsyncMs,
    crashEveryMs: every(0.6, 200, 1500),
    powerLossRate: prng.pick([0.7, 0.9, 1]),
    writebackRate: prng.pick([0, 0.2, 0.5]),
    crashInFlightRate: prng.pick([0.7, 0.9, 1]),
    correlatedCrashRate: prng.pick([0, 0, 0.2]),
    compactEveryMs: every(0.6, 100, 800),
    membershipChangeEveryMs: churnHeavy ? prng.int(40, 250) : every(0.5, 200, 1500),
    selfChangeRate: smallChurn ? 0.6 : churnHeavy ? prng.pick([0.3, 0.6]) : prng.pick([0.1, 0.3]),
    removedLingerMs: prng.chance(0.7) ? -1 : prng.int(0, 2000),
    transferEveryMs: every(0.4, 200, 1500),
    churnWhilePartitioned: prng.chance(0.5),
    readIndexEveryMs: readHeavy ? prng.int(3, 30) : every(0.5, 50, 500),
    clients: prng.int(1, 4),
    clientThinkMs: prng.int(2, 30),
    clientTimeoutMs: prng.int(100, 600),
    faultPhaseMs: 2500,
    healPhaseMs: 1500,
    steadyElectionTimeouts: 20,
  };
}

export function describeOptions(options: SimOptions): string {
  return Object.entries(options)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`)
    .join(' ');
}
