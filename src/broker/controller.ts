/**
 * The broker's side of the controller Raft group (DESIGN decision 7, §6): group 0 on the
 * broker's MultiRaftNode, whose log is the cluster metadata. Every broker applies the same
 * records to its `ControllerState` (src/controller, pure) and answers clients from that local
 * view. Changes are commands: a broker that is not the controller leader forwards them over
 * `ControllerRpc`; the leader checks them against its state, turns them into records, proposes
 * them, and answers once they are applied. The asking broker answers its client only after it
 * has applied the same index itself, so its next Metadata answer already shows the change.
 *
 * The controller leader alone runs the periodic tasks: broker liveness (heartbeat sessions →
 * fence / unfence records) and recording each partition group's leader (reported by the
 * brokers in their heartbeats) so every broker's Metadata names it.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { MultiRaftNode } from '../cluster/multi-raft-node.js';
import {
  assignReplicas,
  BrokerLiveness,
  type ControllerRecord,
  ControllerState,
  decodeRecord,
  type Endpoint,
  encodeRecord,
  type ReassignmentRequest,
} from '../controller/index.js';
import { logIndex, type NodeId, nodeId, term } from '../lib/ids.js';
import { ConfChangeType } from '../raft/conf-change.js';
import { encodeSingleRecordBatch, readSingleRecord } from '../raft/entry.js';
import { ProposalDroppedError } from '../raft/errors.js';
import { type Entry, EntryType, type Snapshot, StateRole } from '../raft/types.js';
import { alterReassignmentsAsLeader } from './controller-reassignments.js';
import { type ControllerRpc, RpcError } from './controller-rpc.js';

/** The controller's Raft group id (partition groups start at 1). */
export const CONTROLLER_GROUP = 0;
/** Producer ids handed to a broker per controller record. */
const PRODUCER_ID_BLOCK_SIZE = 1000;

/** One attempt of `metadataCaughtUp` at a read index (tried again until its deadline). */
const READ_INDEX_ATTEMPT_MS = 1_000;

/** An error carrying the Kafka error name a client acts on. */
export class ControllerError extends Error {
  override name = 'ControllerError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LeaderReport {
  groupId: number;
  leader: number;
  leaderEpoch: number;
}

export type ControllerCommand =
  | {
      op: 'create-topic';
      name: string;
      /** Chosen by the broker that took the request, so a retried command recognises its own
       * earlier success (the forwarded call may have timed out after it applied). */
      topicId: string;
      partitions: number;
      replicationFactor: number;
      assignments: number[][] | null;
      configs: Record<string, string>;
      validateOnly: boolean;
    }
  | { op: 'delete-topic'; name: string; topicId: string | null }
  | {
      op: 'create-partitions';
      name: string;
      count: number;
      /** The partition count the asking broker saw (a retry after success finds `count`). */
      seenCount: number;
      assignments: number[][] | null;
      validateOnly: boolean;
    }
  | {
      op: 'alter-configs';
      resource: 'topic' | 'broker';
      name: string;
      configs: Record<string, string | null>;
    }
  | { op: 'allocate-producer-ids'; brokerId: number }
  | {
      op: 'register';
      brokerId: number;
      raft: Endpoint;
      client: Endpoint;
      rack: string | null;
      incarnationId: string;
    }
  | { op: 'heartbeat'; brokerId: number; incarnationId: string; leaders: LeaderReport[] }
  | { op: 'add-learner'; brokerId: number }
  /** AlterPartitionReassignments (src/broker/controller-reassignments.ts). */
  | { op: 'alter-reassignments'; partitions: ReassignmentRequest[] };

export interface ControllerOptions {
  node: MultiRaftNode;
  rpc: ControllerRpc;
  brokerId: number;
  logger: Logger;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** This broker's registration (sent to the leader at start, and again after it is fenced). */
  self: { raft: Endpoint; client: Endpoint; rack: string | null; incarnationId: string };
  /** Whether the raft transport holds a live connection to a broker (placement avoids the dead). */
  isReachable: (brokerId: number) => boolean;
  /** Take a snapshot of the metadata every this many applied entries (bounds the log and the
   * replay at start). */
  snapshotEveryEntries: number;
  /** Reports the partition groups this broker leads (for its heartbeats). */
  leaderReports: () => LeaderReport[];
}

interface Waiter {
  index: number;
  resolve(): void;
}

export class Controller extends EventEmitter {
  state: ControllerState = ControllerState.empty();
  appliedIndex = 0;
  private readonly results = new Map<
    number,
    { ok: true } | { ok: false; errorName: string; message: string }
  >();
  private waiters: Waiter[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private readonly liveness: BrokerLiveness;
  /** When this controller leader last heard from each broker (leader-local, for placement). */
  private readonly heardFromMs = new Map<number, number>();
  private wasLeader = false;
  private snapshotIndex = 0;
  private snapshotting = false;
  private leaderSinceMs = 0;
  /** Term of the last controller entry applied here (of the snapshot's last entry, after one). */
  private appliedTerm = 0;
  private timer: NodeJS.Timeout | null = null;
  private registered = false;
  private heartbeatRunning = false;
  private heartbeatAgain = false;
  private stopped = false;

  constructor(private readonly options: ControllerOptions) {
    super();
    this.setMaxListeners(0);
    this.liveness = new BrokerLiveness({ sessionTimeoutMs: options.sessionTimeoutMs });
    options.rpc.handle('execute', async (_from, body) => this.executeAsLeader(body as ControllerCommand));
    options.node.on('role', (group: number, role: StateRole) => {
      if (group === CONTROLLER_GROUP) this.onRole(role);
    });
  }

  /** Loads the metadata from the group's latest snapshot (at start, before any entry applies). */
  restore(snapshot: Snapshot): void {
    const extra = snapshotExtra(snapshot);
    this.state = extra.length > 0 ? ControllerState.decodeSnapshot(extra) : ControllerState.empty();
    this.appliedIndex = snapshot.metadata.index;
    this.appliedTerm = snapshot.metadata.term;
    this.snapshotIndex = snapshot.metadata.index;
    this.emit('change', this.state);
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    const ready = this.waiters.filter((waiter) => waiter.index <= this.appliedIndex);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => waiter.index > this.appliedIndex);
    for (const waiter of ready) waiter.resolve();
  }

  /** MultiRaftNode's onSnapshot for group 0: the leader sent the metadata as a snapshot. */
  readonly onSnapshot = (snapshot: Snapshot): void => {
    this.restore(snapshot);
    this.options.logger.info(
      { index: snapshot.metadata.index },
      'installed the controller metadata snapshot',
    );
  };

  /** Applies committed controller entries (MultiRaftNode's onApply for group 0). */
  readonly onApply = (entries: readonly Entry[]): void => {
    let changed = false;
    for (const entry of entries) {
      this.appliedIndex = entry.index;
      this.appliedTerm = entry.term;
      if (entry.type !== EntryType.Normal || entry.data.length === 0) continue;
      if (entry.damaged === true) {
        // Only a controller whose voter is this broker alone applies a damaged entry (no voter to
        // repair it from); a proposal of its own at that index was rejected (MultiRaftNode.apply).
        this.options.logger.error(
          { index: entry.index },
          'skipping a controller record whose bytes rotted on disk (no other controller replica to repair it from)',
        );
        continue;
      }
      let record: ControllerRecord;
      try {
        const { value } = readSingleRecord(
          Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.length),
        );
        if (value === null) throw new Error('controller entry without a value');
        record = decodeRecord(value);
      } catch (error) {
        // Every broker skips the same undecodable entry, so their states stay equal.
        this.options.logger.error(
          { err: error, index: entry.index },
          'skipping an undecodable controller record',
        );
        continue;
      }
      const result = this.state.apply(record);
      this.results.set(entry.index, result);
      changed = true;
    }
    // The proposer takes its result right after the apply; results nobody took (entries
    // proposed elsewhere) are dropped once far behind.
    if (this.results.size > 65_536)
      for (const index of this.results.keys())
        if (index < this.appliedIndex - 32_768) this.results.delete(index);
    if (changed) this.emit('change', this.state);
    this.wakeWaiters();
  };

  /** The controller leader's broker id, or -1 when none is known. */
  get leaderId(): number {
    const status = this.options.node.status(CONTROLLER_GROUP);
    return status === undefined || status.leader === 0 ? -1 : status.leader;
  }

  get isLeader(): boolean {
    return this.options.node.status(CONTROLLER_GROUP)?.role === StateRole.Leader;
  }

  /** Starts the heartbeat / liveness timer. */
  start(): void {
    this.timer = setInterval(() => this.periodic(), this.options.heartbeatIntervalMs);
    this.timer.unref();
    this.periodic();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
  }

  /** Resolves once this broker's registration is applied here (or `timeoutMs` passed). */
  async registeredSelf(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && !this.stopped) {
      const self = this.state.broker(this.options.brokerId);
      if (self !== undefined && self.incarnationId === this.options.self.incarnationId && !self.fenced)
        return true;
      await sleep(5);
    }
    return false;
  }

  /**
   * Resolves true once this broker has applied every controller entry committed when the call
   * began: a Raft read index of the controller group (the leader's commit index, confirmed with a
   * quorum), then the apply up to it; false after `timeoutMs` (no leader reachable: its copy is
   * what it has). Neither its own replay (up to the commit index it saved, which lags) nor the
   * leader's heartbeats (they carry at most what this broker acknowledged, so not the entries
   * written while it was down) tell a restarted broker how far the metadata has gone.
   */
  async metadataCaughtUp(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.stopped) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      let index: number;
      try {
        // Short attempts: a broker that knows no leader yet has its request dropped.
        index = await this.options.node.readIndex(
          CONTROLLER_GROUP,
          Math.min(remaining, READ_INDEX_ATTEMPT_MS),
        );
      } catch {
        continue;
      }
      return this.waitApplied(index, Math.max(1, deadline - performance.now()));
    }
    return false;
  }

  /** Resolves once this broker has applied controller entry `index` (or `timeoutMs` passed). */
  waitApplied(index: number, timeoutMs: number): Promise<boolean> {
    if (this.appliedIndex >= index) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry);
        resolve(false);
      }, timeoutMs);
      const entry: Waiter = {
        index,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.waiters.push(entry);
    });
  }

  /**
   * Runs a command on the controller leader (here, or forwarded) and resolves with its value
   * once this broker has applied it. Rejects with ControllerError (a Kafka error name).
   */
  async execute<T = unknown>(command: ControllerCommand, timeoutMs: number): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining <= 0 || this.stopped)
        throw new ControllerError('REQUEST_TIMED_OUT', 'no controller leader answered in time');
      const leader = this.leaderId;
      try {
        let answer: { index: number; value: unknown };
        if (leader === this.options.brokerId) answer = await this.executeAsLeader(command);
        else if (leader > 0)
          answer = await this.untilLeaderChanges(
            leader,
            this.options.rpc.call(nodeId(leader), 'execute', command, Math.min(remaining, 5000)),
          );
        else {
          await sleep(Math.min(50, remaining));
          continue;
        }
        if (!(await this.waitApplied(answer.index, Math.max(1, deadline - performance.now()))))
          throw new ControllerError(
            'REQUEST_TIMED_OUT',
            `controller entry ${answer.index} not applied here in time`,
          );
        return answer.value as T;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        // The leader moved (or was never reachable): look again until the deadline.
        if (code === 'NOT_CONTROLLER' || (error instanceof RpcError && code === 'REQUEST_TIMED_OUT')) {
          await sleep(Math.min(50, Math.max(0, deadline - performance.now())));
          continue;
        }
        throw error;
      }
    }
  }

  /** `call`, abandoned (NOT_CONTROLLER) as soon as another controller leader is known. */
  private untilLeaderChanges<T>(leader: number, call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onLeader = (current: number): void => {
        if (current === leader) return;
        this.off('leader', onLeader);
        reject(
          new ControllerError('NOT_CONTROLLER', `controller leadership moved from ${leader} to ${current}`),
        );
      };
      this.on('leader', onLeader);
      call.then(
        (value) => {
          this.off('leader', onLeader);
          resolve(value);
        },
        (error: unknown) => {
          this.off('leader', onLeader);
          reject(error);
        },
      );
    });
  }

  // ---- on the controller leader ----

  private executeAsLeader(command: ControllerCommand): Promise<{ index: number; value: unknown }> {
    if (!this.isLeader)
      return Promise.reject(new ControllerError('NOT_CONTROLLER', 'not the controller leader'));
    if (command.op === 'heartbeat') return this.heartbeatAsLeader(command);
    if (!this.appliedOwnTerm())
      return Promise.reject(
        new ControllerError(
          'NOT_CONTROLLER',
          'the controller leader has not applied its own first entry yet',
        ),
      );
    // Commands that read the state to build their record (group ids, producer ids, assignment)
    // run one at a time, each after the previous one is applied.
    const run = this.queue.then(
      () => this.runCommandOnCurrentState(command),
      () => this.runCommandOnCurrentState(command),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Whether this broker leads the controller group and has applied an entry of its own term (its
   * first, the no-op): everything its predecessors committed lies before that entry. The term
   * is Raft's, read now: a 'role' event comes only with the group's next Ready.
   */
  private appliedOwnTerm(): boolean {
    const status = this.options.node.status(CONTROLLER_GROUP);
    return status !== undefined && status.role === StateRole.Leader && this.appliedTerm === status.term;
  }

  /**
   * `runCommand` once this leader has applied its own first entry: a leader elected moments ago
   * may not yet have applied what its predecessor committed, and would build records on a stale
   * state (ids already handed out, which the state machine then refuses: the command failed).
   * Until then the command is answered NOT_CONTROLLER at once (the caller retries shortly), so
   * no queue of commands builds up behind a leader that cannot apply.
   */
  private async runCommandOnCurrentState(
    command: Exclude<ControllerCommand, { op: 'heartbeat' }>,
  ): Promise<{ index: number; value: unknown }> {
    if (!this.appliedOwnTerm())
      throw new ControllerError(
        'NOT_CONTROLLER',
        'the controller leader has not applied its own first entry yet',
      );
    return this.runCommand(command);
  }

  private async runCommand(command: Exclude<ControllerCommand, { op: 'heartbeat' }>): Promise<{
    index: number;
    value: unknown;
  }> {
    const state = this.state;
    switch (command.op) {
      case 'create-topic': {
        await this.settleAfterElection();
        const existing = state.topicByName(command.name);
        if (existing !== undefined && existing.topicId === command.topicId)
          return { index: this.appliedIndex, value: null }; // this very command, retried
        if (existing !== undefined)
          throw new ControllerError('TOPIC_ALREADY_EXISTS', `topic ${command.name} already exists`);
        const replicas = this.assignmentFor(
          command.partitions,
          command.replicationFactor,
          command.assignments,
        );
        if (command.validateOnly) return { index: this.appliedIndex, value: null };
        let groupId = state.nextGroupId;
        return this.proposeOk({
          type: 'create-topic',
          name: command.name,
          topicId: command.topicId,
          configs: command.configs,
          replicationFactor: command.replicationFactor,
          partitions: replicas.map((list) => ({ groupId: groupId++, replicas: list })),
          // Explicit assignments are an operator's placement: replica balancing keeps them.
          byOperator: (command.assignments?.length ?? 0) > 0,
        });
      }
      case 'delete-topic': {
        const topic = state.topicByName(command.name);
        if (topic === undefined && command.topicId !== null && state.isDeletedTopic(command.topicId))
          return { index: this.appliedIndex, value: null }; // this very command, retried
        if (topic === undefined)
          throw new ControllerError('UNKNOWN_TOPIC_OR_PARTITION', `no topic ${command.name}`);
        return this.proposeOk({ type: 'delete-topic', topicId: topic.topicId });
      }
      case 'create-partitions': {
        const topic = state.topicByName(command.name);
        if (topic === undefined)
          throw new ControllerError('UNKNOWN_TOPIC_OR_PARTITION', `no topic ${command.name}`);
        await this.settleAfterElection();
        const current = topic.partitions.length;
        if (command.count === current && command.seenCount < current)
          return { index: this.appliedIndex, value: null }; // this very command, retried
        if (command.count <= current)
          throw new ControllerError(
            'INVALID_PARTITIONS',
            `topic ${command.name} has ${current} partitions; the new count must be larger, got ${command.count}`,
          );
        const replicas = this.assignmentFor(
          command.count - current,
          topic.replicationFactor,
          command.assignments,
        );
        if (command.validateOnly) return { index: this.appliedIndex, value: null };
        let groupId = state.nextGroupId;
        return this.proposeOk({
          type: 'create-partitions',
          topicId: topic.topicId,
          partitions: replicas.map((list) => ({ groupId: groupId++, replicas: list })),
          byOperator: (command.assignments?.length ?? 0) > 0,
        });
      }
      case 'alter-configs':
        return this.proposeOk({
          type: 'alter-configs',
          resource: command.resource,
          name: command.name,
          configs: command.configs,
        });
      case 'allocate-producer-ids': {
        const firstProducerId = state.nextProducerId;
        const answer = await this.proposeOk({
          type: 'producer-id-block',
          brokerId: command.brokerId,
          firstProducerId,
          size: PRODUCER_ID_BLOCK_SIZE,
        });
        return { index: answer.index, value: { firstProducerId, size: PRODUCER_ID_BLOCK_SIZE } };
      }
      case 'add-learner': {
        // A joining broker follows the controller group as a learner (DESIGN decision 7). Its
        // registration is applied first, so every broker can already reach it.
        if (state.broker(command.brokerId) === undefined)
          throw new ControllerError('BROKER_NOT_AVAILABLE', `broker ${command.brokerId} is not registered`);
        const conf = this.options.node.status(CONTROLLER_GROUP)?.confState;
        if (
          conf?.voters.includes(nodeId(command.brokerId)) ||
          conf?.learners.includes(nodeId(command.brokerId))
        )
          return { index: this.appliedIndex, value: null };
        try {
          const committed = await this.options.node.proposeConfChange(CONTROLLER_GROUP, {
            type: ConfChangeType.AddLearner,
            node: nodeId(command.brokerId),
          });
          return { index: committed.index, value: null };
        } catch (error) {
          if (error instanceof ProposalDroppedError)
            throw new ControllerError('NOT_CONTROLLER', error.message);
          throw error;
        }
      }
      case 'alter-reassignments':
        return alterReassignmentsAsLeader(command.partitions, {
          state: () => this.state,
          propose: (record) => this.proposeOk(record),
          appliedIndex: () => this.appliedIndex,
        });
      case 'register': {
        this.liveness.heartbeat(command.brokerId, performance.now());
        this.heardFromMs.set(command.brokerId, performance.now());
        const known = state.broker(command.brokerId);
        if (
          known !== undefined &&
          !known.fenced &&
          known.incarnationId === command.incarnationId &&
          sameEndpoint(known.raft, command.raft) &&
          sameEndpoint(known.client, command.client) &&
          known.rack === command.rack
        )
          return { index: this.appliedIndex, value: null };
        return this.proposeOk({
          type: 'register-broker',
          brokerId: command.brokerId,
          raft: command.raft,
          client: command.client,
          rack: command.rack,
          incarnationId: command.incarnationId,
        });
      }
    }
  }

  /** A controller leader elected moments ago waits one heartbeat interval before placing
   * replicas, so every live broker has told it so (see assignmentFor). */
  private async settleAfterElection(): Promise<void> {
    const settledAt = this.leaderSinceMs + 1.5 * this.options.heartbeatIntervalMs;
    while (performance.now() < settledAt) {
      // No need to wait once every unfenced broker is known to be alive (a cluster of one at once).
      const unknown = this.state
        .liveBrokers()
        .some(
          (broker) =>
            broker.brokerId !== this.options.brokerId &&
            (this.heardFromMs.get(broker.brokerId) ?? Number.NEGATIVE_INFINITY) < this.leaderSinceMs,
        );
      if (!unknown) return;
      await sleep(Math.min(20, settledAt - performance.now()));
    }
  }

  /** Replica lists for new partitions: the client's own, checked, or the assignment's. */
  private assignmentFor(count: number, replicationFactor: number, given: number[][] | null): number[][] {
    // New replicas go to brokers this leader has heard from lately: a broker that just died is
    // not fenced until its session ends, and a replica placed there would leave the new
    // partition without a quorum. With too few of those, every unfenced broker counts.
    // A decommissioning broker takes no new replicas (its replicas are moving off it).
    const unfenced = this.state.liveBrokers().filter((broker) => !broker.decommissioning);
    const recentMs = performance.now() - 3 * this.options.heartbeatIntervalMs;
    const responsive = unfenced.filter(
      (broker) =>
        broker.brokerId === this.options.brokerId ||
        (this.heardFromMs.get(broker.brokerId) ?? -Infinity) >= recentMs,
    );
    const live = responsive.length >= replicationFactor ? responsive : unfenced;

    if (given !== null && given.length > 0) {
      if (given.length !== count)
        throw new ControllerError(
          'INVALID_REPLICA_ASSIGNMENT',
          `${given.length} assignments for ${count} partitions`,
        );
      for (const replicas of given) {
        if (replicas.length === 0 || new Set(replicas).size !== replicas.length)
          throw new ControllerError(
            'INVALID_REPLICA_ASSIGNMENT',
            `replica list [${replicas}] is empty or repeats a broker`,
          );
        for (const id of replicas)
          if (this.state.broker(id) === undefined)
            throw new ControllerError('INVALID_REPLICA_ASSIGNMENT', `broker ${id} is not registered`);
      }
      return given;
    }
    if (replicationFactor < 1 || replicationFactor > live.length)
      throw new ControllerError(
        'INVALID_REPLICATION_FACTOR',
        `replication factor ${replicationFactor} needs that many live brokers; ${live.length} live`,
      );
    const load = new Map<number, { replicaCount: number; leaderCount: number }>();
    for (const broker of live) load.set(broker.brokerId, { replicaCount: 0, leaderCount: 0 });
    for (const topic of this.state.topics())
      for (const partition of topic.partitions)
        partition.replicas.forEach((id, position) => {
          const entry = load.get(id);
          if (entry === undefined) return;
          entry.replicaCount++;
          if (position === 0) entry.leaderCount++;
        });
    return assignReplicas({
      brokers: live.map((broker) => ({
        brokerId: broker.brokerId,
        rack: broker.rack,
        replicaCount: load.get(broker.brokerId)?.replicaCount ?? 0,
        leaderCount: load.get(broker.brokerId)?.leaderCount ?? 0,
      })),
      partitionCount: count,
      replicationFactor,
      seed: this.state.nextGroupId,
    });
  }

  private async heartbeatAsLeader(command: Extract<ControllerCommand, { op: 'heartbeat' }>): Promise<{
    index: number;
    value: unknown;
  }> {
    const known = this.state.broker(command.brokerId);
    if (known === undefined || known.incarnationId !== command.incarnationId)
      return { index: this.appliedIndex, value: { registered: false } };
    this.liveness.heartbeat(command.brokerId, performance.now());
    this.heardFromMs.set(command.brokerId, performance.now());
    let index = this.appliedIndex;
    if (known.fenced)
      index = (await this.proposeOk({ type: 'unfence-broker', brokerId: command.brokerId })).index;
    const changed = command.leaders.filter((report) => {
      const partition = this.state.partitionByGroup(report.groupId);
      return (
        partition !== undefined &&
        (report.leaderEpoch > partition.leaderEpoch ||
          (report.leaderEpoch === partition.leaderEpoch && report.leader !== partition.leader))
      );
    });
    if (changed.length > 0)
      index = (await this.proposeOk({ type: 'partition-leaders', leaders: changed })).index;
    return { index, value: { registered: true } };
  }

  /** This broker's registration incarnation (a record naming it was applied after this start). */
  get incarnationId(): string {
    return this.options.self.incarnationId;
  }

  /**
   * Proposes one record from the controller leader's periodic tasks (src/broker/controller-tasks.ts);
   * resolves once applied here, rejects with ControllerError (NOT_CONTROLLER when not leading).
   */
  proposeAsLeader(record: ControllerRecord): Promise<{ index: number; value: unknown }> {
    if (!this.isLeader)
      return Promise.reject(new ControllerError('NOT_CONTROLLER', 'not the controller leader'));
    return this.proposeOk(record);
  }

  /** Proposes one record; resolves with its index once applied here, or rejects with its error. */
  private async proposeOk(record: ControllerRecord): Promise<{ index: number; value: unknown }> {
    const batch = encodeSingleRecordBatch({
      term: term(0),
      timestampMs: Date.now(),
      key: null,
      value: encodeRecord(record),
    });
    let committed: { index: number };
    try {
      committed = await this.options.node.propose(CONTROLLER_GROUP, batch);
    } catch (error) {
      if (error instanceof ProposalDroppedError) throw new ControllerError('NOT_CONTROLLER', error.message);
      throw error;
    }
    const result = this.results.get(committed.index);
    this.results.delete(committed.index);
    if (result !== undefined && !result.ok) throw new ControllerError(result.errorName, result.message);
    return { index: committed.index, value: null };
  }

  private onRole(role: StateRole): void {
    const leading = role === StateRole.Leader;
    if (leading && !this.wasLeader) {
      this.heardFromMs.clear();
      this.leaderSinceMs = performance.now();
      // A new controller leader gives every broker a whole session before fencing anyone.
      this.liveness.reset(
        this.state.brokers().map((broker) => broker.brokerId),
        performance.now(),
      );
      this.options.logger.info({ brokerId: this.options.brokerId }, 'this broker is the controller leader');
    }
    this.wasLeader = leading;
    this.emit('leader', this.leaderId);
    // Tell a new controller leader at once that this broker is alive (and what it leads), so
    // it can place replicas and record leaders without waiting a heartbeat interval.
    this.heartbeatSoon();
  }

  /** Heartbeat (every broker) and liveness (the leader): one round per heartbeat interval. */
  private periodic(): void {
    if (this.stopped) return;
    this.heartbeatSoon();
    this.snapshotIfDue();
    if (!this.isLeader) return;
    for (const id of this.liveness.expired(performance.now())) {
      const broker = this.state.broker(id);
      if (broker === undefined || broker.fenced || id === this.options.brokerId) continue;
      this.options.logger.warn({ brokerId: id }, 'broker missed its heartbeats; fencing it');
      this.proposeOk({ type: 'fence-broker', brokerId: id }).catch((error) =>
        this.options.logger.debug({ err: error, brokerId: id }, 'fencing a broker failed; retrying later'),
      );
    }
  }

  /** Every broker snapshots its own copy of the metadata once enough entries applied. */
  private snapshotIfDue(): void {
    if (this.snapshotting || this.appliedIndex - this.snapshotIndex < this.options.snapshotEveryEntries)
      return;
    const index = this.appliedIndex;
    const image = this.state.encodeSnapshot();
    this.snapshotting = true;
    this.options.node
      .compact(CONTROLLER_GROUP, logIndex(index), image)
      .then(
        () => {
          this.snapshotIndex = index;
          this.options.logger.debug({ index }, 'controller metadata snapshot taken');
        },
        (error: unknown) =>
          this.options.logger.warn({ err: error }, 'controller snapshot failed; retrying later'),
      )
      .finally(() => {
        this.snapshotting = false;
      });
  }

  /** Sends this broker's heartbeat (with its leader reports) now, or right after the one running. */
  heartbeatSoon(): void {
    if (this.stopped) return;
    if (this.heartbeatRunning) {
      this.heartbeatAgain = true;
      return;
    }
    this.heartbeatRunning = true;
    this.sendHeartbeat()
      .catch((error) => this.options.logger.debug({ err: error }, 'controller heartbeat failed'))
      .finally(() => {
        this.heartbeatRunning = false;
        if (this.heartbeatAgain) {
          this.heartbeatAgain = false;
          this.heartbeatSoon();
        }
      });
  }

  private async sendHeartbeat(): Promise<void> {
    const { brokerId, self } = this.options;
    const timeoutMs = Math.max(1000, this.options.heartbeatIntervalMs * 2);
    const known = this.state.broker(brokerId);
    if (!this.registered || known === undefined || known.incarnationId !== self.incarnationId) {
      await this.execute({ op: 'register', brokerId, ...self }, timeoutMs);
      this.registered = true;
    }
    const answer = await this.execute<{ registered: boolean }>(
      { op: 'heartbeat', brokerId, incarnationId: self.incarnationId, leaders: this.options.leaderReports() },
      timeoutMs,
    );
    if (!answer.registered) this.registered = false;
  }
}

/** The state-machine bytes of a controller snapshot (after the 8-byte offset header). */
function snapshotExtra(snapshot: Snapshot): Uint8Array {
  return snapshot.data.length > 8 ? snapshot.data.subarray(8) : new Uint8Array(0);
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.host === b.host && a.port === b.port;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type { NodeId };
