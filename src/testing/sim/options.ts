import type { Prng } from '../../lib/prng.js';

/**
 * One seed's world. "Swarm testing": each seed draws its own mix of features and fault rates,
 * so some seeds hammer one fault hard while others see none of it.
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
  // network
  dropRate: number;
  duplicateRate: number;
  /** Messages on one link may overtake each other (otherwise links are FIFO, like TCP). */
  reorder: boolean;
  minDelayMs: number;
  maxDelayMs: number;
  // disk: delay between a state change and its Ready being persisted (the crash-loss window)
  maxPersistDelayMs: number;
  // faults, as mean intervals (0 = never)
  partitionEveryMs: number;
  crashEveryMs: number;
  /** Chance that a crash tears the Ready being persisted (prefix of entries kept, no HardState). */
  tornWriteRate: number;
  compactEveryMs: number;
  membershipChangeEveryMs: number;
  transferEveryMs: number;
  readIndexEveryMs: number;
  // workload
  clients: number;
  clientThinkMs: number;
  /** A client re-proposes after this long without an acknowledgement. */
  clientTimeoutMs: number;
  // phases
  faultPhaseMs: number;
  healPhaseMs: number;
}

export function swarmOptions(prng: Prng): SimOptions {
  const nodeCount = prng.pick([3, 4, 5, 6]);
  const tickMs = 10;
  const maxDelayMs = prng.pick([5, 20, 60]);
  const maxPersistDelayMs = prng.pick([0, 2, 10]);
  // Raft needs broadcast time << election timeout (§5.6): an election must fit a round trip
  // (two link delays plus a disk write) a few times over, or no election ever completes.
  const roundTripMs = 2 * maxDelayMs + maxPersistDelayMs;
  const electionTicks = Math.max(prng.int(5, 15), Math.ceil((3 * roundTripMs) / tickMs));
  const every = (p: number, min: number, max: number) => (prng.chance(p) ? prng.int(min, max) : 0);
  return {
    nodeCount,
    initialVoters: Math.min(nodeCount, prng.pick([1, 3, 3, 3, 5])),
    preVote: prng.chance(0.7),
    checkQuorum: prng.chance(0.7),
    electionTicks,
    heartbeatTicks: prng.int(1, Math.max(1, Math.floor(electionTicks / 4))),
    tickMs,
    maxInflightMessages: prng.pick([1, 2, 8, 64]),
    maxMessageBytes: prng.pick([200, 4096, 1 << 20]),
    storeAsBatches: prng.chance(0.5),
    dropRate: prng.pick([0, 0.01, 0.05, 0.2]),
    duplicateRate: prng.pick([0, 0.02, 0.1]),
    reorder: prng.chance(0.3),
    minDelayMs: prng.int(0, 5),
    maxDelayMs,
    maxPersistDelayMs,
    partitionEveryMs: every(0.6, 200, 1500),
    crashEveryMs: every(0.6, 200, 1500),
    tornWriteRate: prng.pick([0, 0.5]),
    compactEveryMs: every(0.6, 100, 800),
    membershipChangeEveryMs: every(0.5, 200, 1500),
    transferEveryMs: every(0.4, 200, 1500),
    readIndexEveryMs: every(0.5, 50, 500),
    clients: prng.int(1, 4),
    clientThinkMs: prng.int(2, 30),
    clientTimeoutMs: prng.int(100, 600),
    faultPhaseMs: 2500,
    healPhaseMs: 1500,
  };
}

export function describeOptions(options: SimOptions): string {
  return Object.entries(options)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
