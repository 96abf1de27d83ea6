/**
 * Deterministic simulation of one Raft group running the production core (RawNode) with
 * virtual time, a faulty network, faulty disks, drifting clocks, stalls, crashes and clients.
 * Everything random comes from one seeded Prng, so `runSeed(seed)` replays a failure exactly.
 *
 * The simulator is the group's host and follows the production rules for a Ready (raw-node.ts):
 * write the snapshot and entries to the log, fsync it, then write the HardState to the state
 * file (fsync it when term or vote changed), then send, then apply, then `advance()`. Each
 * fsync takes virtual time, during which the node keeps stepping messages and ticking. The
 * disk (disk.ts) loses unsynced writes on a power loss, each file on its own; the order above
 * is what must keep a correct core safe.
 */
import { AssertionError } from '../../lib/assert.js';
import type { LogIndex, NodeId, Term } from '../../lib/ids.js';
import { nodeId } from '../../lib/ids.js';
import { Prng } from '../../lib/prng.js';
import { ConfChangeType, decodeConfChange } from '../../raft/conf-change.js';
import { batchToEntry, encodeSingleRecordBatch, entryToBatch, readSingleRecord } from '../../raft/entry.js';
import { ProposalDroppedError } from '../../raft/errors.js';
import type { TestOnlyDefect } from '../../raft/raft.js';
import { RawNode, type Ready } from '../../raft/raw-node.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  StateRole,
} from '../../raft/types.js';
import { checkLogMatching, InvariantViolation, SafetyChecker } from './checkers.js';
import { SimDisk } from './disk.js';
import { EventQueue } from './event-queue.js';
import { LinkFaults, partitionLinks, slowLinks } from './network.js';
import { type SimOptions, swarmOptions } from './options.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The replicated state machine: per-client sessions deduplicate retried proposals. */
interface StateMachine {
  lastSequence: Record<number, number>;
  /** Proposal ids in apply order, duplicates removed: `client:sequence`. */
  log: string[];
}

/** The state machine image stored in snapshots (empty bytes: the bootstrap snapshot). */
function decodeState(data: Uint8Array): StateMachine {
  return data.length > 0 ? (JSON.parse(decoder.decode(data)) as StateMachine) : { lastSequence: {}, log: [] };
}

/** Where a crash armed for the next Ready strikes. */
type CrashStage = 'log-write' | 'log-sync' | 'state-sync' | 'send';

export interface SimNode {
  id: NodeId;
  disk: SimDisk;
  /** The running process; undefined while crashed or after its host stopped it. */
  rawNode: RawNode | undefined;
  prngSeed: number;
  state: StateMachine;
  /** Bumped by every crash: continuations of a dead process compare it and stop. */
  incarnation: number;
  /** A Ready is being persisted, sent and applied (between ready() and advance()). */
  readyInFlight: boolean;
  readyScheduled: boolean;
  /** The HardState this host last wrote (to know when term or vote changed: fsync then). */
  writtenHardState: HardState;
  /** This node's clock: its tick interval (tickMs × its drift rate). */
  tickIntervalMs: number;
  /** Stalled (a GC pause) until this time: nothing runs; messages and I/O completions wait. */
  stalledUntilMs: number;
  deferred: Array<() => void>;
  ticksMissed: number;
  /** A crash waits for a Ready of this node that reaches this step. */
  crashArmed: CrashStage | undefined;
  /** Removed from the group by a committed change (re-added only while it still runs). */
  removed: boolean;
  /** Index of the latest committed membership change naming this node (applies are repeated). */
  changedAt: number;
  /** Its host stopped it (a removed replica, after `removedLingerMs`); only a re-add reopens it. */
  stopped: boolean;
}

interface Outstanding {
  node: NodeId;
  index: LogIndex;
  term: Term;
  sequence: number;
  deadlineMs: number;
}

interface Client {
  id: number;
  /** Counts wake-ups; a scheduled step runs only if none was scheduled after it. */
  wake: number;
  sequence: number;
  acked: number;
  outstanding: Outstanding | undefined;
  leaderHint: NodeId | undefined;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  failure?: string;
  acked: number;
  committedIndex: number;
  elections: number;
  crashes: number;
  /** Crashes during which a Ready was being persisted, sent or applied. */
  crashesMidReady: number;
  /** Crashes after which a disk held less than was written to it (power loss, torn write). */
  crashesLosingWrites: number;
  partitions: number;
  stalls: number;
  removals: number;
  snapshotsSent: number;
  reads: number;
  events: number;
}

/** Besides the options: fixed core defects planted back (tests only), and a trace of the run. */
export interface SimSetup {
  /** Passed to every RawNode as `testOnlyDefects`, so a test can show the swarm finds them. */
  coreDefects?: ReadonlySet<TestOnlyDefect>;
  /** Receives one line per fault, election and phase (`npm run sim -- --seed S --trace`). */
  trace?: (line: string) => void;
}

export class Simulation {
  readonly options: SimOptions;
  private readonly prng: Prng;
  private readonly queue = new EventQueue();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly clients: Client[] = [];
  private readonly checker = new SafetyChecker();
  private readonly links = new LinkFaults();
  private faultsOn = true;
  private clientsOn = true;
  private workloadRound = 0;
  /** Pause between a client's acknowledged write and its next (longer in the steady phase). */
  private clientThinkMs: number;
  /** Members removed during the steady phase: they run to the end, whatever `removedLingerMs`. */
  private readonly steadyRemovals = new Set<NodeId>();
  /** Highest log index of an acknowledged proposal (reads issued later must not go below). */
  private ackedIndex = 0;
  private readonly pendingReads = new Map<string, { issuedAtAckedIndex: number }>();
  private readCounter = 0;
  /** Per link, when its last message arrives (FIFO links). */
  private readonly linkClock = new Map<string, number>();
  private readonly stats = {
    elections: 0,
    crashes: 0,
    crashesMidReady: 0,
    crashesLosingWrites: 0,
    partitions: 0,
    stalls: 0,
    removals: 0,
    snapshotsSent: 0,
    reads: 0,
    acked: 0,
  };

  constructor(
    readonly seed: number,
    overrides: Partial<SimOptions> = {},
    private readonly setup: SimSetup = {},
  ) {
    this.prng = new Prng(seed);
    this.options = { ...swarmOptions(this.prng), ...overrides };
    this.clientThinkMs = this.options.clientThinkMs;
    const { nodeCount, initialVoters, clockDrift, tickMs } = this.options;
    const voters = Array.from({ length: initialVoters }, (_, i) => nodeId(i + 1));
    for (let i = 1; i <= nodeCount; i++) {
      const id = nodeId(i);
      const conf: ConfState = i <= initialVoters ? { voters, learners: [] } : { voters: [], learners: [] };
      const disk = new SimDisk(conf);
      const node: SimNode = {
        id,
        disk,
        rawNode: undefined,
        prngSeed: this.prng.nextU32(),
        state: { lastSequence: {}, log: [] },
        incarnation: 0,
        readyInFlight: false,
        readyScheduled: false,
        writtenHardState: disk.hardState(),
        tickIntervalMs: tickMs * (1 - clockDrift + 2 * clockDrift * this.prng.nextFloat()),
        stalledUntilMs: 0,
        deferred: [],
        ticksMissed: 0,
        crashArmed: undefined,
        removed: false,
        changedAt: 0,
        stopped: false,
      };
      this.nodes.set(id, node);
      this.start(node);
      this.scheduleTicks(node, this.prng.nextFloat() * node.tickIntervalMs);
    }
    for (let c = 1; c <= this.options.clients; c++) {
      this.clients.push({
        id: c,
        wake: 0,
        sequence: 0,
        acked: 0,
        outstanding: undefined,
        leaderHint: undefined,
      });
    }
    this.startWorkload();
    this.scheduleFaults();
  }

  run(): SimResult {
    let failure: string | undefined;
    try {
      const { faultPhaseMs, healPhaseMs } = this.options;
      this.queue.runUntil(faultPhaseMs);
      this.heal();
      this.queue.runUntil(faultPhaseMs + healPhaseMs);
      this.converge('after the network healed');
      this.steady();
      this.converge('after the steady phase');
      this.checkFinal();
    } catch (error) {
      const e = error as Error;
      failure =
        e instanceof InvariantViolation || e instanceof AssertionError
          ? `${e.name}: ${e.message}`
          : (e.stack ?? String(e));
    }
    return {
      seed: this.seed,
      ok: failure === undefined,
      ...(failure !== undefined ? { failure } : {}),
      ...this.stats,
      committedIndex: this.checker.maxAppliedIndex,
      events: this.queue.eventsRun,
    };
  }

  private trace(line: () => string): void {
    if (this.setup.trace) this.setup.trace(`${this.queue.nowMs.toFixed(1).padStart(9)} ms  ${line()}`);
  }

  // ---- phases --------------------------------------------------------------------------------

  /**
   * Quiet period: no new proposals; every member must catch up. Slow worlds (two entries per
   * message, a window of one, 60 ms links) take minutes of virtual time to replay a backlog, so
   * the liveness failure is "no progress for 10 s", not a fixed deadline.
   */
  private converge(when: string): void {
    this.clientsOn = false;
    let lastProgress = { atMs: this.queue.nowMs, position: this.progressSum() };
    const giveUpAtMs = this.queue.nowMs + 600_000;
    for (;;) {
      const problem = this.convergenceProblem();
      if (problem === undefined) return;
      if (this.queue.nowMs - lastProgress.atMs >= 10_000 || this.queue.nowMs >= giveUpAtMs)
        throw new InvariantViolation(`liveness ${when}: ${problem}`);
      this.queue.runUntil(this.queue.nowMs + 250);
      const position = this.progressSum();
      if (position !== lastProgress.position) lastProgress = { atMs: this.queue.nowMs, position };
    }
  }

  /**
   * Healed traffic for `steadyElectionTimeouts` election timeouts: the group must keep
   * committing, and no one may keep deposing its leader. When the seed churns membership, the
   * leader also removes a member early in the phase; that replica keeps running to the end and
   * must by then have stopped being a candidate (it is reachable the whole time, so nothing
   * excuses it not hearing of its removal), or it would campaign for ever.
   */
  private steady(): void {
    const { electionTicks, tickMs, clockDrift, steadyElectionTimeouts, membershipChangeEveryMs } =
      this.options;
    const leaderBefore = this.leader()!;
    const termBefore = leaderBefore.rawNode!.raft.term;
    const ackedBefore = this.stats.acked;
    const electionsBefore = this.stats.elections;
    const electionTimeoutMs = electionTicks * tickMs * (1 + clockDrift);
    // A few writes per election timeout show that the group commits; a flood would only build
    // a backlog that a slow world needs minutes to replicate.
    this.clientThinkMs = Math.max(this.options.clientThinkMs, electionTimeoutMs / 4);
    this.clientsOn = true;
    this.startWorkload();
    const durationMs = steadyElectionTimeouts * electionTimeoutMs;
    this.trace(
      () => `steady phase for ${durationMs.toFixed(0)} ms, leader ${leaderBefore.id} term ${termBefore}`,
    );
    const removals: Array<{ node: NodeId; index: LogIndex }> = [];
    if (membershipChangeEveryMs > 0) {
      for (let attempt = 0; attempt < 3; attempt++) {
        this.queue.schedule((attempt + 1) * electionTimeoutMs, () => {
          if (removals.length === 0) this.removeOneMember(removals);
        });
      }
    }
    this.queue.runUntil(this.queue.nowMs + durationMs);
    const leaderAfter = this.leader();
    const termAfter = this.maxMemberTerm();
    // One handover is legitimate (a leader that demoted itself passes leadership on); more is
    // someone deposing the leader again and again.
    if (termAfter - termBefore > 2)
      throw new InvariantViolation(
        `liveness: with no faults, the group went from term ${termBefore} to ${termAfter} in ${steadyElectionTimeouts} election timeouts ` +
          `(${this.stats.elections - electionsBefore} elections; leader now ${leaderAfter?.id ?? 'none'}; ` +
          `removed replicas still running: ${this.removedRunning().join(',') || 'none'})`,
      );
    if (this.stats.acked === ackedBefore)
      throw new InvariantViolation(
        `liveness: with no faults, no write was acknowledged in ${steadyElectionTimeouts} election timeouts`,
      );
    for (const { node: id, index } of removals) {
      const rawNode = this.nodes.get(id)!.rawNode;
      if (rawNode?.raft.promotable())
        throw new InvariantViolation(
          `liveness: node ${id}, removed at index ${index} early in the steady phase and reachable since, ` +
            `may still campaign (commit ${rawNode.raft.log.committed}, membership ${JSON.stringify(rawNode.raft.tracker.confState())})`,
        );
    }
  }

  /** The leader removes one other member (a voter when there are two or more, else a learner). */
  private removeOneMember(removals: Array<{ node: NodeId; index: LogIndex }>): void {
    const leader = this.leader();
    if (!leader) return;
    const conf = leader.rawNode!.raft.tracker.confState();
    const voters = conf.voters.filter((id) => id !== leader.id);
    const candidates = conf.voters.length > 1 ? [...voters, ...conf.learners] : conf.learners;
    if (candidates.length === 0) return;
    const node = this.prng.pick(candidates);
    try {
      const placed = leader.rawNode!.proposeConfChange({ type: ConfChangeType.Remove, node });
      removals.push({ node, index: placed.index });
      this.steadyRemovals.add(node);
      this.trace(() => `steady phase: leader ${leader.id} removes ${node} at index ${placed.index}`);
      this.scheduleReady(leader);
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
    }
  }

  private removedRunning(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.removed && n.rawNode).map((n) => n.id);
  }

  /** Highest term among the current members (as the leader sees them). */
  private maxMemberTerm(): number {
    let max = 0;
    const leader = this.leader();
    const conf = leader?.rawNode?.raft.tracker.confState();
    const members = conf ? [...conf.voters, ...conf.learners] : [...this.nodes.keys()];
    for (const id of members) max = Math.max(max, this.nodes.get(id)!.rawNode?.raft.term ?? 0);
    return max;
  }

  // ---- nodes -------------------------------------------------------------------------------

  private start(node: SimNode): void {
    // Files written before a kill -9 may still sit in the page cache only: make them durable
    // before acting on them (a vote re-sent from an unsynced state file could be forgotten).
    node.disk.syncLog();
    node.disk.syncState();
    const snapshot = node.disk.snapshot();
    node.state = decodeState(snapshot.data);
    node.writtenHardState = node.disk.hardState();
    const testOnlyDefects = this.setup.coreDefects;
    node.rawNode = new RawNode({
      id: node.id,
      storage: node.disk,
      prng: new Prng(node.prngSeed++),
      electionTicks: this.options.electionTicks,
      heartbeatTicks: this.options.heartbeatTicks,
      preVote: this.options.preVote,
      checkQuorum: this.options.checkQuorum,
      maxInflightMessages: this.options.maxInflightMessages,
      maxMessageBytes: this.options.maxMessageBytes,
      applied: snapshot.metadata.index,
      ...(testOnlyDefects ? { testOnlyDefects } : {}),
    });
  }

  private scheduleTicks(node: SimNode, delayMs: number): void {
    // The clock keeps running while the process is down (crashed or stopped): ticks then do nothing.
    this.queue.schedule(delayMs, () => {
      if (node.stalledUntilMs > this.queue.nowMs) {
        node.ticksMissed++;
      } else if (node.rawNode) {
        node.rawNode.tick();
        this.scheduleReady(node);
      }
      this.scheduleTicks(node, node.tickIntervalMs);
    });
  }

  /** Runs `action` on the node's process now, or when its stall ends. */
  private onNode(node: SimNode, action: () => void): void {
    if (node.stalledUntilMs > this.queue.nowMs) node.deferred.push(action);
    else action();
  }

  private scheduleReady(node: SimNode): void {
    if (node.readyScheduled || node.readyInFlight || !node.rawNode) return;
    node.readyScheduled = true;
    const incarnation = node.incarnation;
    this.queue.schedule(0, () => {
      if (node.incarnation !== incarnation) return;
      this.onNode(node, () => {
        if (node.incarnation !== incarnation) return;
        node.readyScheduled = false;
        this.beginReady(node);
      });
    });
  }

  /** Stores entries the way the node's disk would (optionally through the RecordBatch codec). */
  protected persistEntries(node: SimNode, entries: Entry[]): void {
    if (!this.options.storeAsBatches) {
      node.disk.append(entries);
      return;
    }
    node.disk.append(
      entries.map((e) => batchToEntry(Buffer.from(entryToBatch(e, Math.floor(this.queue.nowMs))), e.index)),
    );
  }

  /**
   * Tests only: write the HardState together with the entries, before the log is synced (the
   * order of issue 8's defect 2). The disk model must make a correct core fail under it.
   */
  protected readonly writesHardStateBeforeLogSync: boolean = false;

  /** Writes the state file (unsynced; the caller syncs it when term or vote changed). */
  protected persistHardState(node: SimNode, hardState: HardState): void {
    node.disk.setHardState(hardState);
  }

  private fsyncMs(): number {
    return this.prng.int(this.options.minFsyncMs, this.options.maxFsyncMs);
  }

  /** Whether `ready` has the step an armed crash waits for. */
  private offersStage(ready: Ready, stage: CrashStage): boolean {
    switch (stage) {
      case 'log-write':
        return ready.snapshot !== undefined || ready.entries.length > 0;
      case 'log-sync':
        // The dangerous moment: entries and a HardState (often a commit covering them) at once.
        return (ready.snapshot !== undefined || ready.entries.length > 0) && ready.hardState !== undefined;
      case 'state-sync':
        return ready.hardState !== undefined;
      case 'send':
        return ready.messages.length > 0;
    }
  }

  /**
   * Step 1 of a Ready: the log (snapshot, then entries) is written and synced; only then the
   * state file. The node keeps running meanwhile; a crash in between loses the rest.
   */
  private beginReady(node: SimNode): void {
    const rawNode = node.rawNode;
    if (!rawNode || node.readyInFlight || !rawNode.hasReady()) return;
    const ready = rawNode.ready();
    node.readyInFlight = true;
    const leaderTerm = this.observeLeadership(node, ready);
    const stage = node.crashArmed && this.offersStage(ready, node.crashArmed) ? node.crashArmed : undefined;
    if (stage) node.crashArmed = undefined;
    const writesLog = ready.snapshot !== undefined || ready.entries.length > 0;
    if (stage === 'log-write') {
      // The process dies half-way through writing: a prefix of the writes reaches the page cache.
      const snapshotWritten = !ready.snapshot || this.prng.chance(0.5);
      if (ready.snapshot && snapshotWritten) node.disk.installSnapshot(ready.snapshot);
      if (snapshotWritten)
        this.persistEntries(
          node,
          ready.entries.slice(0, this.prng.int(0, Math.max(0, ready.entries.length - 1))),
        );
      this.crash(node, 'while writing its log', true);
      return;
    }
    if (ready.snapshot) node.disk.installSnapshot(ready.snapshot);
    this.persistEntries(node, ready.entries);
    const incarnation = node.incarnation;
    const alive = () => node.incarnation === incarnation;
    // The HardState may commit entries of this Ready: it is written once they are durable.
    const hardState = ready.hardState;
    const syncState =
      hardState !== undefined &&
      (hardState.term !== node.writtenHardState.term || hardState.vote !== node.writtenHardState.vote);
    const writeHardState = () => {
      if (!hardState) return;
      this.persistHardState(node, hardState);
      node.writtenHardState = hardState;
    };
    const logSyncMs = writesLog ? this.fsyncMs() : 0;
    const stateSyncMs = syncState ? this.fsyncMs() : 0;
    /**
     * An armed crash strikes at a random instant before the fsync under way completes, unless the
     * fault phase has ended by then (the heal restarts every node once; nothing would restart it).
     */
    const crashWithin = (windowMs: number, when: string) => {
      this.queue.schedule(windowMs > 0 ? this.prng.int(0, windowMs - 1) : 0, () => {
        if (alive() && this.faultsOn) this.crash(node, when, false);
      });
    };
    const finish = () => {
      if (!alive()) return;
      if (leaderTerm !== undefined) this.leaderDurable(node, leaderTerm);
      this.finishReady(node, rawNode, ready, stage === 'send');
    };
    if (this.writesHardStateBeforeLogSync) {
      // Like the host of defect 2, it syncs every HardState it writes, alongside the log.
      const stateMs = hardState ? this.fsyncMs() : 0;
      const plan = { writesLog, syncState: hardState !== undefined, logSyncMs, stateSyncMs: stateMs };
      this.persistInParallel(node, plan, writeHardState, finish);
      if (stage === 'log-sync' || stage === 'state-sync')
        crashWithin(Math.max(logSyncMs, stateMs), 'while syncing its log and state file');
      return;
    }
    if (stage === 'log-sync') crashWithin(logSyncMs, 'while syncing its log');
    const afterLogSync = () => {
      if (!alive()) return;
      if (writesLog) node.disk.syncLog();
      writeHardState();
      if (stage === 'state-sync') crashWithin(stateSyncMs, 'while syncing its state file');
      const afterStateSync = () => {
        if (!alive()) return;
        if (syncState) node.disk.syncState();
        finish();
      };
      if (syncState || stage === 'state-sync')
        this.queue.schedule(stateSyncMs, () => this.onNode(node, afterStateSync));
      else afterStateSync();
    };
    if (writesLog) this.queue.schedule(logSyncMs, () => this.onNode(node, afterLogSync));
    else afterLogSync();
  }

  /**
   * The planted host order (tests only): the HardState is written with the entries and both
   * files are synced at once, as in issue 8's defect 2; the Ready goes on when both are done.
   */
  private persistInParallel(
    node: SimNode,
    plan: { writesLog: boolean; syncState: boolean; logSyncMs: number; stateSyncMs: number },
    writeHardState: () => void,
    finish: () => void,
  ): void {
    writeHardState();
    let waiting = 0;
    const synced = (sync: () => void) => () => {
      sync();
      if (--waiting === 0) finish();
    };
    const incarnation = node.incarnation;
    const later = (delayMs: number, action: () => void) =>
      this.queue.schedule(delayMs, () =>
        this.onNode(node, () => {
          if (node.incarnation === incarnation) action();
        }),
      );
    if (plan.writesLog) waiting++;
    if (plan.syncState) waiting++;
    if (plan.writesLog)
      later(
        plan.logSyncMs,
        synced(() => node.disk.syncLog()),
      );
    if (plan.syncState)
      later(
        plan.stateSyncMs,
        synced(() => node.disk.syncState()),
      );
    if (waiting === 0) later(0, finish);
  }

  /** Steps 2-4 of a Ready: send, apply, advance. */
  private finishReady(node: SimNode, rawNode: RawNode, ready: Ready, crashWhileSending: boolean): void {
    if (crashWhileSending) {
      const sent = this.prng.int(0, ready.messages.length - 1);
      for (const m of ready.messages.slice(0, sent)) this.send(m);
      this.crash(node, `after sending ${sent} of ${ready.messages.length} messages`, false);
      return;
    }
    for (const m of ready.messages) this.send(m);
    if (ready.snapshot) node.state = decodeState(ready.snapshot.data);
    for (const entry of ready.committedEntries) this.apply(node, entry);
    for (const read of ready.readStates)
      this.readAnswered(node, read.index, decoder.decode(read.requestContext));
    rawNode.advance();
    node.readyInFlight = false;
    this.scheduleReady(node);
  }

  /**
   * A node that became leader: its log must hold every entry applied anywhere (checked on the
   * log it leads with). Returns the term it leads, to be recorded once the Ready is durable.
   */
  private observeLeadership(node: SimNode, ready: Ready): Term | undefined {
    if (ready.softState?.role !== StateRole.Leader) return undefined;
    const raft = node.rawNode!.raft;
    this.checker.checkLeaderCompleteness(node.id, raft.term, raft.log.firstIndex(), (i) => raft.log.term(i));
    return raft.term;
  }

  /**
   * Election safety counts a leader once the Ready that made it leader is durable: only then can
   * it act. A node that is the only voter in its view wins without asking anyone; if it crashes
   * before its term and vote reach the disk, it never led, and may vote in that term again.
   */
  private leaderDurable(node: SimNode, term: Term): void {
    this.stats.elections++;
    this.trace(() => `node ${node.id} leads term ${term}`);
    this.checker.leaderElected(term, node.id);
  }

  private apply(node: SimNode, entry: Entry): void {
    let key: string;
    if (entry.type === EntryType.Normal) {
      const { value } = readSingleRecord(
        Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength),
      );
      key = decoder.decode(value!);
      const [client, sequence] = key.split(':').map(Number) as [number, number];
      if (sequence > (node.state.lastSequence[client] ?? 0)) {
        node.state.lastSequence[client] = sequence;
        node.state.log.push(key);
      }
    } else if (entry.type === EntryType.Noop) {
      key = 'noop';
    } else {
      const change = decodeConfChange(entry.data);
      key = `conf:${change.type}:${change.node}`;
      this.membershipCommitted(change.type, change.node, entry.index);
    }
    this.checker.entryApplied(node.id, entry.index, entry.term, key);
    for (const client of this.clients) {
      const pending = client.outstanding;
      if (!pending || pending.node !== node.id || pending.index !== entry.index) continue;
      client.outstanding = undefined;
      if (pending.term === entry.term && key === `${client.id}:${pending.sequence}`) {
        // Acknowledged: committed and applied on the leader that accepted it.
        client.acked = pending.sequence;
        this.stats.acked++;
        this.ackedIndex = Math.max(this.ackedIndex, entry.index);
      }
      this.wakeClient(client, this.clientThinkMs);
    }
  }

  /**
   * A membership change naming `id` committed. A removed replica keeps running — its host has
   * not noticed yet, or never will — for `removedLingerMs` (-1: to the end), then its host stops
   * it; re-added before that (with its state), it stays.
   */
  private membershipCommitted(type: ConfChangeType, id: NodeId, index: LogIndex): void {
    const node = this.nodes.get(id)!;
    if (index <= node.changedAt) return; // applied before, elsewhere
    node.changedAt = index;
    if (type !== ConfChangeType.Remove) {
      if (node.removed) this.trace(() => `node ${id} re-added`);
      node.removed = false;
      if (node.stopped) {
        // Re-added after its host stopped it (the re-add was proposed while it still ran): the
        // host opens the replica again, from the disk it had not deleted yet.
        node.stopped = false;
        this.restart(node);
      }
      return;
    }
    node.removed = true;
    this.stats.removals++;
    this.trace(() => `removal of node ${id} committed`);
    const lingerMs = this.options.removedLingerMs;
    if (lingerMs < 0 || this.steadyRemovals.has(id)) return;
    this.queue.schedule(lingerMs, () => {
      if (node.removed && node.changedAt === index) this.stop(node);
    });
  }

  /** The host drops the replica: it never runs again (its disk stays for the final checks). */
  private stop(node: SimNode): void {
    if (node.stopped) return;
    this.trace(() => `host stops removed node ${node.id}`);
    node.stopped = true;
    node.incarnation++;
    node.rawNode = undefined;
    node.readyInFlight = false;
    node.readyScheduled = false;
    // A stall ends with the process, as in crash(): the stall's resume belongs to the old
    // incarnation and never runs, so a replica re-added and restarted before the stall's end
    // deferred its every step (its first Ready included) for good.
    node.stalledUntilMs = 0;
    node.deferred = [];
  }

  /**
   * The process dies. Whatever was in memory is gone (unpersisted entries, unsent messages, the
   * applied state); a power loss also takes the disks' unsynced writes (disk.ts).
   */
  private crash(node: SimNode, when: string, tornWrite: boolean): void {
    if (!node.rawNode) return;
    this.stats.crashes++;
    if (node.readyInFlight) this.stats.crashesMidReady++;
    node.incarnation++;
    node.rawNode = undefined;
    node.readyInFlight = false;
    node.readyScheduled = false;
    node.crashArmed = undefined;
    node.stalledUntilMs = 0;
    node.deferred = [];
    let lost = tornWrite;
    let how = 'killed';
    if (this.prng.chance(this.options.powerLossRate)) {
      const report = node.disk.powerLoss(this.prng, this.options.writebackRate);
      if (report.logWritesLost > 0 || report.stateReverted) lost = true;
      how = `lost power (${report.logWritesLost} log writes lost${report.stateReverted ? ', state file reverted' : ''})`;
    }
    if (lost) this.stats.crashesLosingWrites++;
    this.trace(() => `node ${node.id} ${how} ${when}`);
  }

  private restart(node: SimNode): void {
    if (node.rawNode || node.stopped) return;
    this.trace(() => `node ${node.id} restarts`);
    this.start(node);
    this.scheduleReady(node);
  }

  private stall(node: SimNode, durationMs: number): void {
    if (!node.rawNode || node.stalledUntilMs > this.queue.nowMs) return;
    this.stats.stalls++;
    node.stalledUntilMs = this.queue.nowMs + durationMs;
    this.trace(() => `node ${node.id} stalls for ${durationMs} ms`);
    const incarnation = node.incarnation;
    this.queue.schedule(durationMs, () => {
      if (node.incarnation === incarnation) this.resume(node);
    });
  }

  private resume(node: SimNode): void {
    node.stalledUntilMs = 0;
    const missed = node.ticksMissed;
    node.ticksMissed = 0;
    // A host that ticks by elapsed time delivers the missed ticks at once: the clock jumps.
    if (this.options.stallCatchUpTicks && node.rawNode) for (let i = 0; i < missed; i++) node.rawNode.tick();
    const deferred = node.deferred;
    node.deferred = [];
    for (const action of deferred) action();
    this.scheduleReady(node);
  }

  // ---- network -----------------------------------------------------------------------------

  private send(m: Message): void {
    if (this.faultsOn && this.prng.chance(this.options.dropRate)) return;
    const copies = this.faultsOn && this.prng.chance(this.options.duplicateRate) ? 2 : 1;
    if (m.snapshot) this.stats.snapshotsSent++;
    for (let i = 0; i < copies; i++) {
      let delay =
        this.prng.int(this.options.minDelayMs, this.options.maxDelayMs) *
        this.links.delayFactor(m.from, m.to);
      if (!this.options.reorder || !this.faultsOn) {
        // A FIFO link (like one TCP connection): never overtake an earlier message.
        const link = `${m.from}>${m.to}`;
        const at = Math.max(this.queue.nowMs + delay, this.linkClock.get(link) ?? 0);
        this.linkClock.set(link, at);
        delay = at - this.queue.nowMs;
      }
      this.queue.schedule(delay, () => this.deliver(m));
    }
  }

  private deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    if (!to?.rawNode || this.links.isCut(m.from, m.to)) return;
    const incarnation = to.incarnation;
    this.onNode(to, () => {
      if (to.incarnation !== incarnation) return;
      to.rawNode!.step(m);
      this.scheduleReady(to);
    });
  }

  // ---- clients -----------------------------------------------------------------------------

  /** Nodes whose process runs and is not stalled. */
  private responsiveNodes(): SimNode[] {
    return [...this.nodes.values()].filter(
      (n) => n.rawNode !== undefined && n.stalledUntilMs <= this.queue.nowMs,
    );
  }

  /**
   * The client's next step, `delayMs` from now. Only the latest wake-up runs: a client is one
   * sequential actor, whatever woke it (an acknowledgement, a timeout, a refusal).
   */
  private wakeClient(client: Client, delayMs: number): void {
    const wake = ++client.wake;
    this.queue.schedule(delayMs, () => {
      if (wake === client.wake) this.clientStep(client);
    });
  }

  private clientStep(client: Client): void {
    if (!this.clientsOn) return;
    if (client.outstanding && this.queue.nowMs < client.outstanding.deadlineMs) {
      this.wakeClient(client, client.outstanding.deadlineMs - this.queue.nowMs);
      return;
    }
    // Retry the unacknowledged proposal (same sequence) or issue the next one.
    const sequence = client.acked + 1;
    client.sequence = sequence;
    const responsive = this.responsiveNodes();
    if (responsive.length === 0) {
      this.wakeClient(client, 50);
      return;
    }
    const hinted = client.leaderHint ? this.nodes.get(client.leaderHint) : undefined;
    const target = hinted && responsive.includes(hinted) ? hinted : this.prng.pick(responsive);
    const data = encodeSingleRecordBatch({
      term: 0 as Term,
      timestampMs: Math.floor(this.queue.nowMs),
      key: null,
      value: encoder.encode(`${client.id}:${sequence}`),
    });
    try {
      const placed = target.rawNode!.propose(data);
      client.outstanding = {
        node: target.id,
        index: placed.index,
        term: placed.term,
        sequence,
        deadlineMs: this.queue.nowMs + this.options.clientTimeoutMs,
      };
      client.leaderHint = target.id;
      this.scheduleReady(target);
      this.wakeClient(client, this.options.clientTimeoutMs);
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
      client.outstanding = undefined;
      // A hint naming the node that just refused (a removed leader handing over) leads nowhere.
      client.leaderHint = error.leader > 0 && error.leader !== target.id ? error.leader : undefined;
      this.wakeClient(client, this.prng.int(5, 40));
    }
  }

  /**
   * Half the reads go where clients send them, to a node that believes it leads (a stale leader
   * on the far side of a cut included); the rest to any node, which forwards them.
   */
  private issueRead(): void {
    const responsive = this.responsiveNodes();
    if (responsive.length === 0) return;
    const leaders = this.leaders();
    const node =
      leaders.length > 0 && this.prng.chance(0.5) ? this.prng.pick(leaders) : this.prng.pick(responsive);
    const context = `read-${++this.readCounter}`;
    this.pendingReads.set(context, { issuedAtAckedIndex: this.ackedIndex });
    node.rawNode!.readIndex(encoder.encode(context));
    this.scheduleReady(node);
  }

  private readAnswered(node: SimNode, index: LogIndex, context: string): void {
    const read = this.pendingReads.get(context);
    if (!read) return;
    this.pendingReads.delete(context);
    this.stats.reads++;
    // Linearizability: the read index covers every write acknowledged before the read began.
    if (index < read.issuedAtAckedIndex)
      throw new InvariantViolation(
        `read index: node ${node.id} answered read ${context} with ${index}, below acknowledged index ${read.issuedAtAckedIndex}`,
      );
  }

  // ---- faults ------------------------------------------------------------------------------

  /** Runs `action` about every `meanMs` while `active()` holds. */
  private every(meanMs: number, action: () => void, active: () => boolean = () => this.faultsOn): void {
    if (meanMs <= 0) return;
    const loop = () => {
      if (!active()) return;
      action();
      this.queue.schedule(this.prng.int(Math.floor(meanMs / 2), Math.floor((meanMs * 3) / 2)), loop);
    };
    this.queue.schedule(this.prng.int(0, meanMs), loop);
  }

  /** Every node that believes it leads (stale leaders on the far side of a partition included). */
  private leaders(): SimNode[] {
    return this.responsiveNodes().filter((n) => n.rawNode!.raft.role === StateRole.Leader);
  }

  /** The leader of the highest term. */
  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const node of this.leaders()) {
      if (!best || node.rawNode!.raft.term > best.rawNode!.raft.term) best = node;
    }
    return best;
  }

  private scheduleFaults(): void {
    const o = this.options;
    this.every(o.partitionEveryMs, () => this.partition());
    this.every(o.slowLinkEveryMs, () => {
      const { links, description } = slowLinks(this.prng, [...this.nodes.keys()]);
      const factor = this.prng.int(3, 20);
      const durationMs = this.prng.int(50, o.slowLinkEveryMs);
      const lift = this.links.slow(links, factor);
      this.trace(() => `slow link for ${durationMs} ms: ${description} ${factor}x slower`);
      this.queue.schedule(durationMs, lift);
    });
    this.every(o.crashEveryMs, () => this.crashSome());
    this.every(o.stallEveryMs, () => {
      const responsive = this.responsiveNodes();
      if (responsive.length > 0) this.stall(this.prng.pick(responsive), this.prng.int(10, o.maxStallMs));
    });
    this.every(o.compactEveryMs, () => {
      const responsive = this.responsiveNodes();
      if (responsive.length > 0) this.compact(this.prng.pick(responsive));
    });
    this.every(o.membershipChangeEveryMs, () => this.changeMembership());
    this.every(o.transferEveryMs, () => this.transferLeadership());
  }

  /** Clients propose and reads are issued until `clientsOn` goes false (each start is a new round). */
  private startWorkload(): void {
    const round = ++this.workloadRound;
    const active = () => this.clientsOn && round === this.workloadRound;
    for (const client of this.clients) this.wakeClient(client, this.prng.int(0, 50));
    this.every(this.options.readIndexEveryMs, () => this.issueRead(), active);
  }

  private partition(): void {
    const o = this.options;
    const shape = this.prng.pick(o.partitionShapes);
    const { links, description } = partitionLinks(this.prng, shape, [...this.nodes.keys()]);
    const heal = this.links.cut(links);
    const durationMs = this.prng.int(50, o.partitionEveryMs);
    this.stats.partitions++;
    this.trace(() => `partition for ${durationMs} ms: ${description}`);
    this.queue.schedule(durationMs, () => {
      // A partition that outlived the fault phase was healed with everything else then.
      if (heal()) this.trace(() => `partition healed: ${description}`);
    });
    if (o.churnWhilePartitioned) {
      // Membership changes and transfers that start on either side of the cut.
      this.queue.schedule(this.prng.int(0, durationMs), () => {
        if (this.faultsOn) this.changeMembership();
      });
      this.queue.schedule(this.prng.int(0, durationMs), () => {
        if (this.faultsOn) this.transferLeadership();
      });
    }
  }

  private crashSome(): void {
    const o = this.options;
    const running = [...this.nodes.values()].filter((n) => n.rawNode);
    if (running.length === 0) return;
    let victims = [this.prng.pick(running)];
    if (this.prng.chance(o.correlatedCrashRate)) victims = running.filter(() => this.prng.chance(0.6));
    for (const node of victims) {
      if (this.prng.chance(o.crashInFlightRate)) {
        // Strikes during the next Ready that gets that far: mostly in the disk writes.
        node.crashArmed = this.prng.pick<CrashStage>([
          'log-write',
          'log-write',
          'log-sync',
          'log-sync',
          'state-sync',
          'state-sync',
          'send',
        ]);
      } else {
        this.crash(node, node.readyInFlight ? 'with a Ready in flight' : 'between Readys', false);
      }
      this.queue.schedule(this.prng.int(20, Math.max(20, o.crashEveryMs)), () => this.restartLater(node));
    }
  }

  /** Restarts a crashed node; an armed crash that has not struck yet is called off. */
  private restartLater(node: SimNode): void {
    node.crashArmed = undefined;
    this.restart(node);
  }

  /** The node snapshots its state machine at its applied index and drops the log before it. */
  private compact(node: SimNode): void {
    const raft = node.rawNode!.raft;
    if (raft.log.unstable.snapshot) return;
    const applied = raft.log.applied;
    if (applied <= node.disk.firstIndex() || applied > node.disk.lastIndex()) return;
    const data = encoder.encode(JSON.stringify(node.state));
    node.disk.compact(applied, raft.confStateAt(applied), data);
  }

  private changeMembership(): void {
    const leaders = this.leaders();
    if (leaders.length === 0) return;
    const leader = this.prng.pick(leaders);
    const conf = leader.rawNode!.raft.tracker.confState();
    const members = new Set([...conf.voters, ...conf.learners]);
    // Nodes never added, and removed ones whose host has not stopped them yet (they rejoin with
    // their state, as a replica the reconciler has not deleted yet would).
    const spare = [...this.nodes.values()].filter((n) => !n.stopped && !members.has(n.id)).map((n) => n.id);
    const options: Array<{ type: ConfChangeType; node: NodeId }> = [];
    const leaderVotes = conf.voters.includes(leader.id);
    if (leaderVotes && conf.voters.length > 1 && this.prng.chance(this.options.selfChangeRate)) {
      // The leader demotes or removes itself ({1,2} -> {2}): it leads on, without counting
      // itself, until the change commits, then hands over.
      options.push(
        { type: ConfChangeType.AddLearner, node: leader.id },
        { type: ConfChangeType.Remove, node: leader.id },
      );
    } else {
      for (const id of spare) options.push({ type: ConfChangeType.AddLearner, node: id });
      for (const id of conf.learners) options.push({ type: ConfChangeType.AddVoter, node: id });
      for (const id of conf.learners) options.push({ type: ConfChangeType.Remove, node: id });
      if (conf.voters.length > 1) {
        for (const id of conf.voters) {
          if (id === leader.id) continue;
          options.push(
            { type: ConfChangeType.AddLearner, node: id },
            { type: ConfChangeType.Remove, node: id },
          );
        }
      }
    }
    if (options.length === 0) return;
    const change = this.prng.pick(options);
    try {
      leader.rawNode!.proposeConfChange(change);
      this.trace(() => `leader ${leader.id} proposes ${ConfChangeType[change.type]} ${change.node}`);
      this.scheduleReady(leader);
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
    }
  }

  private transferLeadership(): void {
    const leaders = this.leaders();
    if (leaders.length === 0) return;
    const leader = this.prng.pick(leaders);
    const conf = leader.rawNode!.raft.tracker.confState();
    // Mostly a voter; sometimes a learner or a stranger, which the leader must refuse.
    const targets = this.prng.chance(0.8) ? conf.voters : [...this.nodes.keys()];
    const candidates = targets.filter((id) => id !== leader.id);
    if (candidates.length === 0) return;
    const target = this.prng.pick(candidates);
    this.trace(() => `leader ${leader.id} transfers leadership to ${target}`);
    leader.rawNode!.transferLeadership(target);
    this.scheduleReady(leader);
  }

  private heal(): void {
    this.faultsOn = false;
    this.links.clear();
    this.trace(() => 'faults end: network healed, crashed nodes restart');
    const { preVote, checkQuorum } = this.options;
    for (const node of this.nodes.values()) {
      // With PreVote and CheckQuorum both off, Raft has no defence against a removed server that
      // missed its removal (it cannot take entries from a leader of a lower term than its own):
      // its host must stop it (thesis §4.2.3; the reconciler does). Here the host learns of the
      // removal by the time the network heals, at the latest.
      if (node.removed && !preVote && !checkQuorum) this.stop(node);
      node.crashArmed = undefined;
      if (node.stalledUntilMs > this.queue.nowMs) this.resume(node);
      this.restart(node);
    }
  }

  // ---- final checks ------------------------------------------------------------------------

  /**
   * Sum of log lengths and applied indexes over running nodes: moves while anyone is still
   * replicating or catching up (a backlog can take many round trips before anything commits).
   */
  private progressSum(): number {
    let sum = 0;
    for (const node of this.nodes.values()) {
      const log = node.rawNode?.raft.log;
      if (log) sum += log.applied + log.lastIndex();
    }
    return sum;
  }

  /** Why the group has not converged yet (no leader, its log not all committed, a member behind), or undefined. */
  private convergenceProblem(): string | undefined {
    const leader = this.leader();
    if (!leader) return 'no leader';
    const raft = leader.rawNode!.raft;
    // The leader's whole log, its predecessors' uncommitted backlog included: a slow world (two
    // entries per message, a window of one) may need many seconds to replicate it, and the
    // steady phase must not count that time against the group.
    if (raft.log.committed !== raft.log.lastIndex())
      return `leader ${leader.id} committed ${raft.log.committed} of ${raft.log.lastIndex()}`;
    const conf = raft.tracker.confState();
    for (const id of [...conf.voters, ...conf.learners]) {
      const applied = this.nodes.get(id)!.rawNode?.raft.log.applied;
      if (applied !== raft.log.committed)
        return `member ${id} applied ${applied}, leader ${leader.id} committed ${raft.log.committed}`;
    }
    return undefined;
  }

  private checkFinal(): void {
    const leader = this.leader()!;
    // Log matching over every node's log, removed replicas included.
    checkLogMatching([...this.nodes.values()].map((n) => ({ node: n.id, ...n.disk.logTerms() })));
    // Every acknowledged proposal is in the final state, in order, exactly once.
    const perClient = new Map<number, number[]>();
    for (const key of leader.state.log) {
      const [client, sequence] = key.split(':').map(Number) as [number, number];
      const list = perClient.get(client) ?? [];
      list.push(sequence);
      perClient.set(client, list);
    }
    for (const client of this.clients) {
      const list = perClient.get(client.id) ?? [];
      const misplaced = list.findIndex((sequence, i) => sequence !== i + 1);
      if (misplaced >= 0)
        throw new InvariantViolation(
          `client ${client.id}: final log entry ${misplaced} is sequence ${list[misplaced]} (duplicated, reordered or missing writes)`,
        );
      if (list.length < client.acked)
        throw new InvariantViolation(
          `acknowledged write lost: client ${client.id} had ${client.acked} acknowledged, final log holds ${list.length}`,
        );
    }
  }
}

export function runSeed(seed: number, overrides: Partial<SimOptions> = {}, setup: SimSetup = {}): SimResult {
  return new Simulation(seed, overrides, setup).run();
}
