/**
 * The controller leader's periodic tasks that keep the cluster healthy (DESIGN decision 7): it
 * moves the replicas of brokers fenced longer than `replica_replace_after`, and of brokers being
 * decommissioned, to live brokers (src/controller/reassignment.ts), and hands partition
 * leadership back to preferred replicas when a broker leads more than its share
 * (src/controller/balancer.ts). Each is bounded (`max_replica_moves` partitions moving at once,
 * a few transfers per round) and observable (`status()`, the `goqueue cluster` view).
 *
 * The decisions are the pure planner's; this file carries them out. Metadata changes are
 * controller records proposed by the leader; Raft membership changes and leadership transfers
 * of a partition can only be made by that partition's leader, so every broker answers three
 * calls over the controller RPC channel for the groups it leads:
 *
 * - `partition-membership`: the group's committed voters and learners, which members are caught
 *   up, and whether a change is still committing;
 * - `partition-change`: add a learner, promote it, remove a member (answered once committed), or
 *   hand leadership to a caught-up voter;
 * - `partition-take-over`: asked of a follower, not the leader, for a list of groups: where the
 *   group's leader is a fenced broker this follower still hears (cut off from the controller,
 *   not from its replicas), ask that leader for a leadership transfer to itself (Metadata names
 *   no fenced broker, so clients could not reach that leader's partitions);
 * - `cluster-decommission` / `cluster-status`: served by the controller leader for the admin path.
 */
import type { Logger } from 'pino';
import type { MultiRaftNode } from '../cluster/multi-raft-node.js';
import {
  type ControllerVoterStep,
  controllerVoterProblem,
  nextControllerVoterStep,
} from '../controller/controller-voters.js';
import {
  type BrokerInfo,
  decommissionProblem,
  leaderCounts,
  type MoveStep,
  movesToAdvance,
  nextMoveStep,
  type ObservedMembership,
  type PartitionInfo,
  planLeaderTransfers,
  planMoves,
  planReplicaBalance,
} from '../controller/index.js';
import { nodeId } from '../lib/ids.js';
import { ConfChangeType } from '../raft/conf-change.js';
import { ProgressState } from '../raft/progress.js';
import { StateRole } from '../raft/types.js';
import { CONTROLLER_GROUP, type Controller, ControllerError } from './controller.js';
import type { ControllerRpc } from './controller-rpc.js';

/** A learner (or a transfer target) this close to the leader's last entry counts as caught up:
 * under a steady produce load a follower streaming the log is always a few entries behind. */
const CAUGHT_UP_LAG_ENTRIES = 64;
/** Leadership transfers asked for per balancing round. */
const MAX_TRANSFERS_PER_ROUND = 16;
const CALL_TIMEOUT_MS = 10_000;
/** Steps one move takes back to back in one round (each is a committed change or record). */
const STEPS_PER_ROUND_MAX = 8;
/** How long partition sizes asked of the leaders are reused by replica balancing. */
const PARTITION_BYTES_MAX_AGE_MS = 10_000;
/** A partition whose recorded leader is fenced is asked to change leader at most this often
 * (a transfer not done within an election timeout is abandoned; the next try starts afresh). */
const TAKE_OVER_RETRY_MS = 5_000;
/** Groups named in one `partition-take-over` request. */
const TAKE_OVER_GROUPS_PER_CALL = 500;
const TAKE_OVER_CALL_TIMEOUT_MS = 2_000;

export interface ControllerTasksOptions {
  controller: Controller;
  node: MultiRaftNode;
  rpc: ControllerRpc;
  brokerId: number;
  logger: Logger;
  /** How often the tasks run (the heartbeat interval). */
  tickMs: number;
  replicaReplaceAfterMs: number;
  maxReplicaMoves: number;
  /** 0 turns leader balancing off. */
  leaderBalanceIntervalMs: number;
  leaderImbalancePercent: number;
  /** Replica balancing (`replica_balance`): replicas move to brokers holding less than their
   * share, e.g. one that joined. */
  replicaBalance: boolean;
  /** Voters the controller group grows to as brokers join (`controller_voters`: 1, 3 or 5). */
  controllerVoters: number;
  /** Out of balance beyond this percentage of the share (`replica_imbalance_percent`). */
  replicaImbalancePercent: number;
  /** Whether the raft transport holds a live connection to a broker (new replicas avoid the dead). */
  isReachable: (brokerId: number) => boolean;
}

/** One move in progress as `goqueue cluster` shows it. */
export interface MoveStatus {
  topic: string;
  partition: number;
  groupId: number;
  replicas: number[];
  learners: number[];
  target: number[];
  /** What the move waits for or does next. */
  step: string;
}

export interface BrokerStatus {
  brokerId: number;
  host: string;
  port: number;
  rack: string | null;
  state: 'live' | 'fenced' | 'decommissioning';
  replicas: number;
  leaders: number;
}

export interface ClusterStatus {
  controllerId: number;
  brokers: BrokerStatus[];
  moves: MoveStatus[];
  /** Partitions with fewer live voters than replicas (or than the replication factor). */
  underReplicated: Array<{ topic: string; partition: number; replicas: number[]; live: number[] }>;
  /** Partitions without a live majority or a known leader. */
  offline: Array<{ topic: string; partition: number; replicas: number[] }>;
  /** Partitions on an evacuated broker that cannot move now, and why. */
  blocked: Array<{ topic: string; partition: number; reason: string }>;
  /** The controller group's committed membership and what moving its voter role waits for. */
  controllerGroup: { voters: number[]; learners: number[]; step: string };
  /** Counters since this controller leader took over. */
  counters: {
    movesStarted: number;
    movesCompleted: number;
    leaderTransfers: number;
    /** Leadership transfers asked for by live followers of fenced partition leaders (asked, not
     * necessarily done: a leader that does not hand over is asked again). */
    leaderTakeOversAsked: number;
    /** Of `movesStarted`, those replica balancing started. */
    balanceMovesStarted: number;
    /** Balancing moves given up because their destination was fenced or left. */
    balanceMovesAbandoned: number;
  };
}

type ChangeKind = 'add-learner' | 'promote' | 'remove' | 'transfer-leader';

export class ControllerTasks {
  private timer: NodeJS.Timeout | null = null;
  /** Leader-local: when this controller leader first saw each broker fenced. */
  private readonly fencedSinceMs = new Map<number, number>();
  /** Groups with a step being carried out (one at a time per group). */
  private readonly busy = new Set<number>();
  private readonly stepText = new Map<number, string>();
  private blocked: Array<{ groupId: number; reason: string }> = [];
  private planning = false;
  /** A controller voter step is being carried out (one at a time). */
  private votersBusy = false;
  private voterStepText = 'none';
  private lastBalanceMs = 0;
  private wasLeader = false;
  private readonly counters = {
    movesStarted: 0,
    movesCompleted: 0,
    leaderTransfers: 0,
    leaderTakeOversAsked: 0,
    balanceMovesStarted: 0,
    balanceMovesAbandoned: 0,
  };
  /** Leader-local: balancing moves in flight, by group: the replicas they started from and the
   * broker they add (given up when that broker is fenced or leaves). */
  private readonly balanceMoves = new Map<number, { from: number[]; to: number }>();
  /** Partition sizes as their leaders last reported them (replica balancing). */
  private partitionBytes = new Map<number, number>();
  private partitionBytesAtMs = Number.NEGATIVE_INFINITY;
  /** Leader-local: when a take-over of each fenced leader's partition was last asked for. */
  private readonly takeOverAskedMs = new Map<number, number>();
  private takingOver = false;
  private stopped = false;

  constructor(private readonly options: ControllerTasksOptions) {
    const { rpc } = options;
    rpc.handle('partition-membership', async (_from, body) =>
      this.observeLocal(checkGroupId((body as { groupId?: unknown })?.groupId)),
    );
    rpc.handle('partition-change', async (_from, body) => this.changeLocal(checkChange(body)));
    rpc.handle('partition-take-over', async (_from, body) => this.takeOverLocal(checkTakeOver(body)));
    rpc.handle('cluster-decommission', async (_from, body) => {
      const request = body as { brokerId?: unknown; decommissioning?: unknown };
      if (!Number.isInteger(request?.brokerId) || typeof request.decommissioning !== 'boolean')
        throw new ControllerError(
          'INVALID_REQUEST',
          'cluster-decommission needs brokerId and decommissioning',
        );
      return this.decommissionAsLeader(request.brokerId as number, request.decommissioning);
    });
    rpc.handle('cluster-status', async () => this.statusAsLeader());
    rpc.handle('partition-bytes', async () => this.partitionBytesLocal());
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.tickMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  // ---- the admin path (any broker; forwarded to the controller leader) ----

  /** Asks `leader`, the partition's leader, to hand leadership of `groupId` to `to` (ElectLeaders);
   * refused with NOT_ENOUGH_REPLICAS unless `to` is a caught-up voter. */
  transferLeadership(groupId: number, leader: number, to: number): Promise<unknown> {
    return this.change(leader, { groupId, kind: 'transfer-leader', brokerId: to });
  }

  /** Marks `brokerId` as leaving (or back), refused when the others cannot hold its replicas. */
  async decommission(brokerId: number, decommissioning: boolean): Promise<void> {
    await this.onControllerLeader('cluster-decommission', { brokerId, decommissioning });
  }

  /** The cluster as the controller leader sees it, moves in progress included. */
  status(): Promise<ClusterStatus> {
    return this.onControllerLeader('cluster-status', {});
  }

  private async onControllerLeader<T>(method: string, body: unknown): Promise<T> {
    const deadline = performance.now() + CALL_TIMEOUT_MS;
    for (;;) {
      const leader = this.options.controller.leaderId;
      try {
        if (leader === this.options.brokerId)
          return (await (method === 'cluster-status'
            ? this.statusAsLeader()
            : this.decommissionAsLeader(
                (body as { brokerId: number }).brokerId,
                (body as { decommissioning: boolean }).decommissioning,
              ))) as T;
        if (leader > 0) return await this.options.rpc.call<T>(nodeId(leader), method, body, CALL_TIMEOUT_MS);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code !== 'NOT_CONTROLLER' || performance.now() > deadline) throw error;
      }
      if (performance.now() > deadline)
        throw new ControllerError('REQUEST_TIMED_OUT', 'no controller leader answered in time');
      await sleep(100);
    }
  }

  private async decommissionAsLeader(brokerId: number, decommissioning: boolean): Promise<null> {
    const { controller } = this.options;
    if (!controller.isLeader) throw new ControllerError('NOT_CONTROLLER', 'not the controller leader');
    const state = controller.state;
    const broker = state.broker(brokerId);
    if (broker === undefined)
      throw new ControllerError('BROKER_NOT_AVAILABLE', `broker ${brokerId} is not registered`);
    if (decommissioning) {
      const problem =
        decommissionProblem(state.brokers(), allPartitions(controller), brokerId) ??
        controllerVoterProblem({
          voters: this.observeLocal(CONTROLLER_GROUP)?.voters ?? [],
          brokers: this.placeableBrokers(state.brokers()),
          brokerId,
        });
      if (problem !== null) throw new ControllerError('INVALID_REPLICATION_FACTOR', problem);
    }
    if (broker.decommissioning === decommissioning) return null;
    await controller.proposeAsLeader({ type: 'broker-decommission', brokerId, decommissioning });
    this.options.logger.info({ brokerId, decommissioning }, 'broker decommission flag set');
    this.tick();
    return null;
  }

  private statusAsLeader(): ClusterStatus {
    const { controller } = this.options;
    if (!controller.isLeader) throw new ControllerError('NOT_CONTROLLER', 'not the controller leader');
    const state = controller.state;
    const partitions = allPartitions(controller);
    const leaders = leaderCounts(state.brokers(), partitions);
    const brokers = state.brokers().map(
      (broker): BrokerStatus => ({
        brokerId: broker.brokerId,
        host: broker.client.host,
        port: broker.client.port,
        rack: broker.rack,
        state: broker.fenced ? 'fenced' : broker.decommissioning ? 'decommissioning' : 'live',
        replicas: state.replicasOn(broker.brokerId).length,
        leaders: leaders.get(broker.brokerId) ?? 0,
      }),
    );
    const live = (id: number): boolean => state.broker(id)?.fenced === false;
    const underReplicated: ClusterStatus['underReplicated'] = [];
    const offline: ClusterStatus['offline'] = [];
    for (const topic of state.topics())
      for (const partition of topic.partitions) {
        const liveReplicas = partition.replicas.filter(live);
        if (liveReplicas.length * 2 <= partition.replicas.length || partition.leader === -1)
          offline.push({ topic: topic.name, partition: partition.partition, replicas: partition.replicas });
        else if (liveReplicas.length < Math.max(partition.replicas.length, topic.replicationFactor))
          underReplicated.push({
            topic: topic.name,
            partition: partition.partition,
            replicas: partition.replicas,
            live: liveReplicas,
          });
      }
    const where = (groupId: number) => state.partitionByGroup(groupId);
    const group = this.observeLocal(CONTROLLER_GROUP);
    return {
      controllerId: this.options.brokerId,
      controllerGroup: {
        voters: [...(group?.voters ?? [])],
        learners: [...(group?.learners ?? [])],
        step: this.voterStepText,
      },
      brokers,
      moves: partitions
        .filter((partition) => partition.targetReplicas.length > 0)
        .map((partition) => ({
          topic: partition.topic,
          partition: partition.partition,
          groupId: partition.groupId,
          replicas: partition.replicas,
          learners: partition.learners,
          target: partition.targetReplicas,
          step: this.stepText.get(partition.groupId) ?? 'starting',
        })),
      underReplicated,
      offline,
      blocked: this.blocked.flatMap(({ groupId, reason }) => {
        const partition = where(groupId);
        return partition === undefined
          ? []
          : [{ topic: partition.topic, partition: partition.partition, reason }];
      }),
      counters: { ...this.counters },
    };
  }

  // ---- on the controller leader ----

  private tick(): void {
    const { controller } = this.options;
    if (this.stopped) return;
    if (!controller.isLeader) {
      this.wasLeader = false;
      return;
    }
    const nowMs = performance.now();
    if (!this.wasLeader) {
      // A new leader does not know how long brokers were fenced before it: counts from now.
      this.wasLeader = true;
      this.fencedSinceMs.clear();
      this.lastBalanceMs = nowMs;
      this.stepText.clear();
      this.blocked = [];
      this.balanceMoves.clear();
      this.takeOverAskedMs.clear();
    }
    const state = controller.state;
    for (const broker of state.brokers()) {
      if (!broker.fenced) this.fencedSinceMs.delete(broker.brokerId);
      else if (!this.fencedSinceMs.has(broker.brokerId)) this.fencedSinceMs.set(broker.brokerId, nowMs);
    }
    if (!this.takingOver && this.fencedSinceMs.size > 0) {
      this.takingOver = true;
      this.takeOverFromFenced(nowMs)
        .catch((error) => this.options.logger.debug({ err: error }, 'leader take-over: round failed'))
        .finally(() => {
          this.takingOver = false;
        });
    }
    if (!this.planning) {
      this.planning = true;
      this.planAndAdvance(nowMs)
        .catch((error) => this.options.logger.debug({ err: error }, 'replica moves: round failed'))
        .finally(() => {
          this.planning = false;
        });
    }
    if (
      this.options.leaderBalanceIntervalMs > 0 &&
      nowMs - this.lastBalanceMs >= this.options.leaderBalanceIntervalMs
    ) {
      this.lastBalanceMs = nowMs;
      this.balanceLeaders();
    }
  }

  /** Starts the moves the planner asks for, then moves every move in progress one step on. */
  private async planAndAdvance(nowMs: number): Promise<void> {
    const { controller } = this.options;
    const state = controller.state;
    const evacuate = new Set<number>();
    for (const broker of state.brokers()) {
      const since = this.fencedSinceMs.get(broker.brokerId);
      if (
        broker.decommissioning ||
        (since !== undefined && nowMs - since >= this.options.replicaReplaceAfterMs)
      )
        evacuate.add(broker.brokerId);
    }
    this.advanceControllerVoters(evacuate);
    const partitions = allPartitions(controller);
    if (evacuate.size > 0) {
      const plan = planMoves({
        brokers: this.placeableBrokers(state.brokers()),
        partitions,
        evacuate,
        maxMovesInFlight: this.options.maxReplicaMoves,
      });
      this.blocked = plan.blocked;
      for (const move of plan.moves) {
        const before = state.partitionByGroup(move.groupId);
        await controller.proposeAsLeader({
          type: 'partition-reassignment',
          groupId: move.groupId,
          target: move.target,
        });
        if (before !== undefined && before.targetReplicas.length === 0) this.counters.movesStarted++;
        this.options.logger.info(
          {
            groupId: move.groupId,
            topic: before?.topic,
            partition: before?.partition,
            from: before?.replicas,
            to: move.target,
          },
          'moving a partition off evacuated brokers',
        );
      }
    } else {
      this.blocked = [];
      if (this.options.replicaBalance) await this.balanceReplicas(nowMs);
    }
    // Moves asked for through the Kafka API may be many: at most max_replica_moves run at once.
    const partitionsNow = allPartitions(controller);
    const running = movesToAdvance(partitionsNow, this.options.maxReplicaMoves);
    for (const partition of partitionsNow)
      if (partition.targetReplicas.length > 0 && !running.includes(partition))
        this.stepText.set(partition.groupId, 'queued (max_replica_moves moves run at once)');
    for (const partition of running) {
      if (this.busy.has(partition.groupId)) continue;
      this.busy.add(partition.groupId);
      this.advanceWhileReady(partition)
        .catch((error) => {
          this.stepText.set(partition.groupId, `retrying: ${(error as Error).message}`);
          this.options.logger.info(
            { err: error, groupId: partition.groupId },
            'replica move step failed; retrying',
          );
        })
        .finally(() => this.busy.delete(partition.groupId));
    }
  }

  /**
   * One step of moving the controller voter role off `leaving` brokers (decommissioning, or
   * fenced longer than `replica_replace_after`): promote a live learner, hand leadership over if
   * this leader is leaving, demote the leaver; with none leaving, one promotion toward
   * `controller_voters` (src/controller/controller-voters.ts).
   */
  private advanceControllerVoters(leaving: ReadonlySet<number>): void {
    if (this.votersBusy) return;
    const membership = this.observeLocal(CONTROLLER_GROUP);
    if (membership === null) return;
    const step = nextControllerVoterStep({
      membership,
      brokers: this.placeableBrokers(this.options.controller.state.brokers()),
      leaving,
      target: this.options.controllerVoters,
    });
    const text = describeVoterStep(step);
    if (text !== this.voterStepText && step.kind !== 'none')
      this.options.logger.info(
        { step: text, voters: membership.voters, learners: membership.learners },
        'controller voter step',
      );
    this.voterStepText = text;
    if (step.kind === 'none' || step.kind === 'wait') return;
    this.votersBusy = true;
    const { node } = this.options;
    const member = nodeId(step.brokerId);
    const done =
      step.kind === 'transfer-leader'
        ? Promise.resolve(node.transferLeadership(CONTROLLER_GROUP, member))
        : node.proposeConfChange(CONTROLLER_GROUP, {
            type: step.kind === 'promote' ? ConfChangeType.AddVoter : ConfChangeType.AddLearner,
            node: member,
          });
    done
      .then(
        () => {
          if (step.kind === 'demote')
            this.options.logger.info(
              { brokerId: step.brokerId },
              'controller voter role moved off a leaving broker',
            );
          else if (step.kind === 'promote' && !membership.voters.some((id) => leaving.has(id)))
            this.options.logger.info({ brokerId: step.brokerId }, 'controller group grew by one voter');
        },
        (error: unknown) => {
          this.voterStepText = `retrying: ${(error as Error).message}`;
          this.options.logger.info({ err: error, step: text }, 'controller voter step failed; retrying');
        },
      )
      .finally(() => {
        this.votersBusy = false;
      });
  }

  /**
   * Replica balancing, when no broker is being evacuated: moves that bring brokers holding less
   * (or more) than their share back within `replica_imbalance_percent`, one replica each, through
   * the same move steps, within `max_replica_moves`. A balancing move whose new broker is fenced
   * (or unreachable, or leaving) before it completes is turned back to its starting replicas.
   */
  private async balanceReplicas(nowMs: number): Promise<void> {
    const { controller } = this.options;
    const brokers = this.placeableBrokers(controller.state.brokers());
    const taking = (id: number): boolean =>
      brokers.some((broker) => broker.brokerId === id && !broker.fenced && !broker.decommissioning);
    for (const [groupId, move] of this.balanceMoves) {
      const partition = controller.state.partitionByGroup(groupId);
      // Done, or taken over by an operator's reassignment (theirs to finish or cancel).
      if (partition === undefined || partition.targetReplicas.length === 0 || partition.placedByOperator) {
        this.balanceMoves.delete(groupId);
        continue;
      }
      if (taking(move.to)) continue;
      this.balanceMoves.delete(groupId);
      const back = move.from.filter((id) => taking(id) || partition.replicas.includes(id));
      await controller.proposeAsLeader({ type: 'partition-reassignment', groupId, target: back });
      this.counters.balanceMovesAbandoned++;
      this.options.logger.info(
        { groupId, topic: partition.topic, partition: partition.partition, broker: move.to, target: back },
        'replica balancing move given up: its new broker is gone; moving back',
      );
    }
    const partitions = allPartitions(controller);
    if (partitions.every((partition) => partition.targetReplicas.length > 0)) return;
    if (nowMs - this.partitionBytesAtMs >= PARTITION_BYTES_MAX_AGE_MS) {
      this.partitionBytesAtMs = nowMs;
      this.partitionBytes = await this.askPartitionBytes(brokers);
    }
    const moves = planReplicaBalance({
      brokers,
      partitions,
      imbalancePercent: this.options.replicaImbalancePercent,
      maxMovesInFlight: this.options.maxReplicaMoves,
      partitionBytes: this.partitionBytes,
    });
    for (const move of moves) {
      const before = controller.state.partitionByGroup(move.groupId);
      if (before === undefined || before.targetReplicas.length > 0) continue;
      const to = move.target.find((id) => !before.replicas.includes(id));
      if (to === undefined) continue;
      await controller.proposeAsLeader({
        type: 'partition-reassignment',
        groupId: move.groupId,
        target: move.target,
      });
      this.balanceMoves.set(move.groupId, { from: [...before.replicas], to });
      this.counters.movesStarted++;
      this.counters.balanceMovesStarted++;
      this.options.logger.info(
        {
          groupId: move.groupId,
          topic: before.topic,
          partition: before.partition,
          from: before.replicas,
          to: move.target,
          bytes: this.partitionBytes.get(move.groupId),
        },
        'moving a replica to balance brokers',
      );
    }
  }

  /** Sizes of the partitions each live broker leads (one call per broker; the silent are skipped). */
  private async askPartitionBytes(brokers: readonly BrokerInfo[]): Promise<Map<number, number>> {
    const sizes = new Map<number, number>();
    const answers = await Promise.all(
      brokers
        .filter((broker) => !broker.fenced)
        .map(async (broker): Promise<Array<[number, number]>> => {
          try {
            if (broker.brokerId === this.options.brokerId) return this.partitionBytesLocal();
            return await this.options.rpc.call<Array<[number, number]>>(
              nodeId(broker.brokerId),
              'partition-bytes',
              {},
              CALL_TIMEOUT_MS,
            );
          } catch {
            return [];
          }
        }),
    );
    for (const answer of answers)
      if (Array.isArray(answer))
        for (const [groupId, bytes] of answer)
          if (Number.isInteger(groupId) && Number.isFinite(bytes)) sizes.set(groupId, bytes);
    return sizes;
  }

  /** `[groupId, bytes]` of every partition group this broker leads. */
  private partitionBytesLocal(): Array<[number, number]> {
    const { node, brokerId, controller } = this.options;
    const sizes: Array<[number, number]> = [];
    for (const partition of controller.state.replicasOn(brokerId)) {
      if (node.status(partition.groupId)?.role !== StateRole.Leader) continue;
      sizes.push([partition.groupId, node.replicatedLog(partition.groupId).sizeBytes]);
    }
    return sizes;
  }

  /** Brokers as placement may use them: one this leader cannot reach counts as fenced. */
  private placeableBrokers(brokers: readonly BrokerInfo[]): BrokerInfo[] {
    return brokers.map((broker) =>
      broker.fenced || broker.brokerId === this.options.brokerId || this.options.isReachable(broker.brokerId)
        ? broker
        : { ...broker, fenced: true },
    );
  }

  /**
   * Steps of one move back to back while each one is done at once (a record applied, a
   * membership change committed): a move no longer waits a tick between its steps. Stops at a
   * step that waits (a learner catching up, no leader answering) and after
   * `STEPS_PER_ROUND_MAX` steps; the next tick goes on.
   */
  private async advanceWhileReady(partition: PartitionInfo): Promise<void> {
    let current: PartitionInfo | undefined = partition;
    for (let steps = 0; steps < STEPS_PER_ROUND_MAX && current !== undefined; steps++) {
      if (this.stopped || !this.options.controller.isLeader || current.targetReplicas.length === 0) return;
      const kind = await this.advance(current);
      if (kind === 'wait' || kind === 'transfer-leader') return;
      current = this.options.controller.state.partitionByGroup(partition.groupId);
    }
  }

  /** One step of one move; resolves with the step's kind once it is done. */
  private async advance(partition: PartitionInfo): Promise<MoveStep['kind']> {
    const { controller } = this.options;
    const leader = partition.leader;
    let observed: ObservedMembership | undefined;
    if (leader > 0) observed = await this.observe(leader, partition.groupId);
    const step: MoveStep = nextMoveStep(partition, observed);
    const text = describe(step);
    if (this.stepText.get(partition.groupId) !== text)
      this.options.logger.info({ groupId: partition.groupId, leader, step: text }, 'replica move step');
    this.stepText.set(partition.groupId, text);
    switch (step.kind) {
      case 'wait':
        return step.kind;
      case 'record': {
        await controller.proposeAsLeader({
          type: 'partition-replicas',
          groupId: partition.groupId,
          replicas: step.replicas,
          learners: step.learners,
        });
        if (controller.state.partitionByGroup(partition.groupId)?.targetReplicas.length === 0) {
          this.counters.movesCompleted++;
          this.stepText.delete(partition.groupId);
          this.options.logger.info(
            {
              groupId: partition.groupId,
              topic: partition.topic,
              partition: partition.partition,
              replicas: step.replicas,
            },
            'partition move complete',
          );
        }
        return step.kind;
      }
      default:
        await this.change(leader, { groupId: partition.groupId, kind: step.kind, brokerId: step.brokerId });
        return step.kind;
    }
  }

  private async observe(leader: number, groupId: number): Promise<ObservedMembership | undefined> {
    try {
      if (leader === this.options.brokerId) return this.observeLocal(groupId) ?? undefined;
      return (
        (await this.options.rpc.call<ObservedMembership | null>(
          nodeId(leader),
          'partition-membership',
          { groupId },
          CALL_TIMEOUT_MS,
        )) ?? undefined
      );
    } catch {
      return undefined;
    }
  }

  private change(
    leader: number,
    change: { groupId: number; kind: ChangeKind; brokerId: number },
  ): Promise<unknown> {
    if (leader === this.options.brokerId) return this.changeLocal(change);
    return this.options.rpc.call(nodeId(leader), 'partition-change', change, CALL_TIMEOUT_MS);
  }

  private balanceLeaders(): void {
    const { controller } = this.options;
    const state = controller.state;
    const unavailable = new Set(
      state
        .brokers()
        .filter(
          (broker) => broker.brokerId !== this.options.brokerId && !this.options.isReachable(broker.brokerId),
        )
        .map((broker) => broker.brokerId),
    );
    const transfers = planLeaderTransfers({
      brokers: state.brokers(),
      // Partitions moving their replicas are the move's business.
      partitions: allPartitions(controller).filter((partition) => partition.targetReplicas.length === 0),
      imbalancePercent: this.options.leaderImbalancePercent,
      unavailable,
      maxTransfers: MAX_TRANSFERS_PER_ROUND,
    });
    for (const transfer of transfers) {
      this.change(transfer.from, {
        groupId: transfer.groupId,
        kind: 'transfer-leader',
        brokerId: transfer.to,
      }).then(
        () => {
          this.counters.leaderTransfers++;
          this.options.logger.info(transfer, 'leadership handed back to the preferred replica');
        },
        (error: unknown) =>
          this.options.logger.debug(
            { err: error, ...transfer },
            'leadership transfer not made (retried next round)',
          ),
      );
    }
  }

  // ---- on a partition leader ----

  /** The committed membership of a group this broker leads, or null when it does not lead it. */
  private observeLocal(groupId: number): ObservedMembership | null {
    const { node, brokerId } = this.options;
    const status = node.status(groupId);
    const raw = node.host.group(groupId);
    if (status === undefined || raw === undefined || status.role !== StateRole.Leader) return null;
    const committed = raw.confStateAt(status.commit);
    const caughtUp = [brokerId];
    for (const progress of status.progress ?? [])
      if (
        !progress.departing &&
        progress.state === ProgressState.Replicate &&
        progress.match + CAUGHT_UP_LAG_ENTRIES >= status.lastIndex
      )
        caughtUp.push(progress.id);
    return {
      leader: brokerId,
      voters: committed.voters.map(Number),
      learners: committed.learners.map(Number),
      caughtUp,
      // As sets: a founding membership keeps the metadata's preference order, later ones are sorted.
      changePending:
        !sameMembers(committed.voters, status.confState.voters) ||
        !sameMembers(committed.learners, status.confState.learners),
    };
  }

  /**
   * Partitions whose recorded leader is fenced: Metadata names no fenced broker, so while such a
   * leader still leads (cut off from the controller leader, not from its followers) clients see
   * LEADER_NOT_AVAILABLE. Every live, reachable voter of such a partition is asked (one request
   * per broker for all its groups); one that still hears the fenced leader asks it for a
   * leadership transfer to itself, and the leader catches it up and hands over (thesis §3.10: no
   * term is lost, and a follower that is behind is brought up to date first). A leader that is
   * really gone was replaced by an ordinary election long before the session timeout fenced it,
   * and then no follower hears it: nothing happens. Only brokers this controller leader has seen
   * fenced for two heartbeat intervals count: a new controller leader replays fences that the
   * brokers' first heartbeats to it lift.
   */
  private async takeOverFromFenced(nowMs: number): Promise<void> {
    const { controller, brokerId, rpc, logger, isReachable, tickMs } = this.options;
    const state = controller.state;
    for (const [groupId, askedMs] of this.takeOverAskedMs)
      if (nowMs - askedMs >= TAKE_OVER_RETRY_MS) this.takeOverAskedMs.delete(groupId);
    const fencedLongEnough = (id: number): boolean => {
      const since = this.fencedSinceMs.get(id);
      return since !== undefined && nowMs - since >= 2 * tickMs && state.broker(id)?.fenced === true;
    };
    const byCandidate = new Map<number, Array<{ groupId: number; from: number }>>();
    for (const partition of allPartitions(controller)) {
      if (partition.leader <= 0 || this.takeOverAskedMs.has(partition.groupId)) continue;
      if (!fencedLongEnough(partition.leader)) continue;
      for (const candidate of partition.replicas) {
        const known = state.broker(candidate);
        if (candidate === partition.leader || known === undefined || known.fenced) continue;
        if (candidate !== brokerId && !isReachable(candidate)) continue;
        const list = byCandidate.get(candidate) ?? [];
        if (list.length >= TAKE_OVER_GROUPS_PER_CALL) continue; // the next round takes the rest
        list.push({ groupId: partition.groupId, from: partition.leader });
        byCandidate.set(candidate, list);
        this.takeOverAskedMs.set(partition.groupId, nowMs);
      }
    }
    await Promise.all(
      [...byCandidate].map(async ([candidate, groups]) => {
        if (!controller.isLeader) return; // deposed meanwhile: the new leader decides
        const asked =
          candidate === brokerId
            ? this.takeOverLocal(groups)
            : await rpc
                .call<number>(nodeId(candidate), 'partition-take-over', groups, TAKE_OVER_CALL_TIMEOUT_MS)
                .catch(() => 0);
        if (asked <= 0) return;
        this.counters.leaderTakeOversAsked += asked;
        logger.info(
          { brokerId: candidate, asked, groupIds: groups.slice(0, 20).map((group) => group.groupId) },
          'partition leaders are fenced: a follower that still hears them asked for their leadership',
        );
      }),
    );
  }

  /**
   * On a replica, for each group: when this broker is a voter following `from` and its own copy
   * of the metadata shows `from` fenced, asks `from` to transfer leadership here. Answers how many
   * it asked; the others are left to other replicas.
   */
  private takeOverLocal(groups: Array<{ groupId: number; from: number }>): number {
    const { node, brokerId, controller, logger } = this.options;
    let asked = 0;
    const askedOf = new Map<number, number[]>();
    for (const { groupId, from } of groups) {
      const status = node.status(groupId);
      if (
        status === undefined ||
        status.role !== StateRole.Follower ||
        Number(status.leader) !== from ||
        !status.confState.voters.some((id) => Number(id) === brokerId) ||
        controller.state.broker(from)?.fenced !== true
      )
        continue;
      node.transferLeadership(groupId, nodeId(brokerId));
      asked++;
      const list = askedOf.get(from) ?? [];
      if (list.length < 20) list.push(groupId);
      askedOf.set(from, list);
    }
    for (const [from, groupIds] of askedOf)
      logger.info({ from, groupIds }, 'asked a fenced partition leader to hand its leadership here');
    return asked;
  }

  /** Carries out one change on a group this broker leads; resolves once it is committed. */
  private async changeLocal(change: { groupId: number; kind: ChangeKind; brokerId: number }): Promise<null> {
    const { node } = this.options;
    const observed = this.observeLocal(change.groupId);
    if (observed === null)
      throw new ControllerError('NOT_LEADER_OR_FOLLOWER', `broker does not lead group ${change.groupId}`);
    const member = nodeId(change.brokerId);
    switch (change.kind) {
      case 'transfer-leader':
        // Never to a replica that is behind: the transfer would hold proposals while it catches up.
        if (!observed.caughtUp.includes(change.brokerId) || !observed.voters.includes(change.brokerId))
          throw new ControllerError(
            'NOT_ENOUGH_REPLICAS',
            `broker ${change.brokerId} is not a caught-up voter`,
          );
        node.transferLeadership(change.groupId, member);
        return null;
      case 'add-learner':
        if (observed.learners.includes(change.brokerId) || observed.voters.includes(change.brokerId))
          return null;
        await node.proposeConfChange(change.groupId, { type: ConfChangeType.AddLearner, node: member });
        return null;
      case 'promote':
        if (observed.voters.includes(change.brokerId)) return null;
        if (!observed.caughtUp.includes(change.brokerId))
          throw new ControllerError('NOT_ENOUGH_REPLICAS', `broker ${change.brokerId} is still catching up`);
        await node.proposeConfChange(change.groupId, { type: ConfChangeType.AddVoter, node: member });
        return null;
      case 'remove':
        if (!observed.voters.includes(change.brokerId) && !observed.learners.includes(change.brokerId))
          return null;
        await node.proposeConfChange(change.groupId, { type: ConfChangeType.Remove, node: member });
        return null;
    }
  }
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

function allPartitions(controller: Controller): PartitionInfo[] {
  return controller.state.topics().flatMap((topic) => topic.partitions);
}

function describe(step: MoveStep): string {
  switch (step.kind) {
    case 'wait':
      return step.reason;
    case 'record':
      return `recording replicas [${step.replicas}] learners [${step.learners}]`;
    case 'add-learner':
      return `adding broker ${step.brokerId} as a learner`;
    case 'promote':
      return `promoting broker ${step.brokerId} to voter`;
    case 'remove':
      return `removing broker ${step.brokerId}`;
    case 'transfer-leader':
      return `handing leadership to broker ${step.brokerId}`;
  }
}

function describeVoterStep(step: ControllerVoterStep): string {
  switch (step.kind) {
    case 'none':
      return 'none';
    case 'wait':
      return step.reason;
    case 'add-learner':
      return `adding broker ${step.brokerId} to the controller group as a learner`;
    case 'promote':
      return `promoting broker ${step.brokerId} to controller voter`;
    case 'transfer-leader':
      return `handing controller leadership to broker ${step.brokerId}`;
    case 'demote':
      return `demoting controller voter ${step.brokerId} to learner`;
  }
}

function checkGroupId(value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1)
    throw new ControllerError('INVALID_REQUEST', `not a partition group id: ${String(value)}`);
  return value as number;
}

function checkTakeOver(body: unknown): Array<{ groupId: number; from: number }> {
  if (!Array.isArray(body) || body.length > TAKE_OVER_GROUPS_PER_CALL)
    throw new ControllerError(
      'INVALID_REQUEST',
      `partition-take-over needs a list of at most ${TAKE_OVER_GROUPS_PER_CALL} { groupId, from }`,
    );
  return body.map((item) => {
    const request = item as { groupId?: unknown; from?: unknown } | null;
    const groupId = checkGroupId(request?.groupId);
    const from = request?.from;
    if (!Number.isInteger(from) || (from as number) < 1)
      throw new ControllerError('INVALID_REQUEST', `partition-take-over: not a broker id: ${String(from)}`);
    return { groupId, from: from as number };
  });
}

const CHANGE_KINDS: readonly ChangeKind[] = ['add-learner', 'promote', 'remove', 'transfer-leader'];

function checkChange(body: unknown): { groupId: number; kind: ChangeKind; brokerId: number } {
  const change = body as { groupId?: unknown; kind?: unknown; brokerId?: unknown } | null;
  if (
    change === null ||
    typeof change !== 'object' ||
    !CHANGE_KINDS.includes(change.kind as ChangeKind) ||
    !Number.isInteger(change.brokerId) ||
    (change.brokerId as number) < 1
  )
    throw new ControllerError('INVALID_REQUEST', 'partition-change needs groupId, kind and brokerId');
  return {
    groupId: checkGroupId(change.groupId),
    kind: change.kind as ChangeKind,
    brokerId: change.brokerId as number,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
