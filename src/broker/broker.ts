import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { DurableRaftStorage, RAFT_STATE_FILE } from '../cluster/durable-raft-storage.js';
import { MultiRaftNode } from '../cluster/multi-raft-node.js';
import { requestJoin, Transport } from '../cluster/transport.js';
import { controllerVoters, electionTicks } from '../config/cluster-members.js';
import { defaultConfig } from '../config/load.js';
import type { BrokerConfig } from '../config/types.js';
import type { ControllerState } from '../controller/index.js';
import { type NodeId, nodeId } from '../lib/ids.js';
import { Prng } from '../lib/prng.js';
import { SUPPORTED_APIS } from '../protocol/index.js';
import { DamagedEntryError } from '../raft/errors.js';
import type { DirectoryLock } from '../storage/directory-lock.js';
import { DiskSpaceGuard } from '../storage/disk-space.js';
import { raiseOpenFileLimit } from '../storage/file-limit.js';
import { NativeLog, segmentFileCacheStats, verifyStoredBatch } from '../storage/native-log.js';
import { type AdminHttp, startAdminHttp } from './admin-http.js';
import { checkClusterIdentity, expectedClusterIdentity, readClusterIdentity } from './cluster-identity.js';
import { Connection } from './connection.js';
import { type ConnectionBudget, type ConnectionBudgetStats, connectionBudget } from './connection-budget.js';
import type { BrokerContext } from './context.js';
import { CONTROLLER_GROUP, Controller, type LeaderReport } from './controller.js';
import { ControllerRpc } from './controller-rpc.js';
import { ControllerTasks } from './controller-tasks.js';
import { FetchPurgatory } from './fetch-purgatory.js';
import { followerReadStats } from './follower-read.js';
import { GroupCoordinator } from './group-coordinator.js';
import { TopicGroupHomes } from './group-homes.js';
import { HANDLERS } from './handlers/index.js';
import type { LocalCluster, LocalClusterOptions } from './local-cluster.js';
import { ProducerState } from './producer-state.js';
import {
  CONTROLLER_LOG_KEY,
  ReplicaRepair,
  restoreCommitted,
  servableCommitIndex,
} from './replica-repair.js';
import { RequestRouter } from './request-router.js';
import { Scrubber } from './scrubber.js';
import type { BrokerStorage } from './storage.js';
import { testOnlySwitches } from './test-only-switches.js';
import { Topics } from './topics.js';

/** Room for request headers and the produce request's own fields around the largest batch. */
export const REQUEST_OVERHEAD_BYTES = 64 * 1024;
/** Requests handled at once per connection before the socket is paused. */
export const MAX_IN_FLIGHT_PER_CONNECTION = 64;

export interface BrokerOptions extends Partial<BrokerConfig> {
  /** pino logger; embedded brokers are silent by default. */
  logger?: Logger;
  /** Shorthands for `clientHost` / `clientPort` (`Broker.start({ dataDir, port: 0 })`). */
  host?: string;
  port?: number;
  /** Storage implementation; the native core unless a test or the simulator injects one. */
  storage?: BrokerStorage;
  /** The controller snapshots its metadata every this many entries (default 1000). */
  controllerSnapshotEntries?: number;
  /** Partition replicas opened at once while reconciling (default 8; benchmarks compare 1). */
  replicaOpenConcurrency?: number;
}

/** What an embedded start passes besides the configuration. */
interface StartHints {
  advertisedGiven?: boolean;
  storage?: BrokerStorage | undefined;
  controllerSnapshotEntries?: number;
  replicaOpenConcurrency?: number;
}

/**
 * How long a restarted member of a larger cluster waits to catch up with the controller leader
 * before it serves (with what it has, when no leader answers: a cluster restarting one broker
 * at a time has none until a quorum is back).
 */
const METADATA_CATCH_UP_MS = 10_000;

/** How long a partition replica refused at open over a damaged entry waits for its repair. */
const PARTITION_REPAIR_WAIT_MS = 30_000;

/** How long a broker whose controller log holds a damaged entry waits at start for its repair. */
const CONTROLLER_REPAIR_WAIT_MS = 30_000;

/**
 * A single-node goqueue broker: the Kafka listener, the topics' partition logs, group commit,
 * retention and the metadata store. `Broker.start` resolves once the listener is bound.
 */
export class Broker {
  readonly address: { host: string; port: number };
  readonly brokerId: number;
  readonly config: BrokerConfig;
  private readonly connections = new Set<Connection>();
  private connectionBudget: ConnectionBudget | null = null;
  private stopping: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;
  private readonly failureWaiters: Array<(error: unknown) => void> = [];

  private constructor(
    config: BrokerConfig,
    address: { host: string; port: number },
    private readonly server: Server,
    private readonly context: BrokerContext,
    private readonly raft: {
      node: MultiRaftNode;
      transport: Transport;
      rpc: ControllerRpc;
      controllerTasks: ControllerTasks;
      adminHttp: AdminHttp | null;
    },
    private readonly retentionTimer: NodeJS.Timeout | null,
    private readonly dataDirLock: DirectoryLock,
  ) {
    this.config = config;
    this.address = address;
    this.brokerId = config.brokerId;
  }

  /** The admin HTTP listener's port (`server.http_port`), or null when it is off. */
  get adminHttpPort(): number | null {
    return this.raft.adminHttp?.port ?? null;
  }

  /** Resolves with the error once the broker failed and stopped by itself (a raft node failure);
   * `goqueue broker` then exits with status 1 so a supervisor restarts it. */
  failed(): Promise<unknown> {
    if (this.failure !== null) return Promise.resolve(this.failure.error);
    return new Promise((resolve) => this.failureWaiters.push(resolve));
  }

  private fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = { error };
    this.context.logger.fatal({ err: error }, 'raft node failed; stopping the broker');
    const settle = (): void => {
      for (const waiter of this.failureWaiters.splice(0)) waiter(error);
    };
    this.stop().then(settle, settle);
  }

  /**
   * `brokers` brokers (default 3) in this process forming one cluster on free loopback ports,
   * for tests and development; see src/broker/local-cluster.ts. `stop()` stops them all.
   */
  static async startCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const { LocalCluster } = await import('./local-cluster.js');
    return LocalCluster.start(options);
  }

  /**
   * How many brokers the controller state applied here lists as live (registered, not fenced):
   * a topic with replication factor N can be created once this reaches N.
   */
  liveBrokerCount(): number {
    return this.context.controller.state.liveBrokers().length;
  }

  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const {
      logger: givenLogger,
      host,
      port,
      storage,
      controllerSnapshotEntries,
      replicaOpenConcurrency,
      ...overrides
    } = options;
    if (host !== undefined) overrides.clientHost ??= host;
    if (port !== undefined) overrides.clientPort ??= port;
    // An embedded broker takes a free raft port unless told otherwise (tests run many at once).
    overrides.raftPort ??= 0;
    const config = defaultConfig(overrides);
    const logger = (givenLogger ?? pino({ level: 'silent' })).child({ brokerId: config.brokerId });
    return Broker.startWithConfig(config, logger, {
      advertisedGiven: overrides.advertisedHost !== undefined || overrides.advertisedPort !== undefined,
      storage,
      ...(controllerSnapshotEntries !== undefined ? { controllerSnapshotEntries } : {}),
      ...(replicaOpenConcurrency !== undefined ? { replicaOpenConcurrency } : {}),
    });
  }

  /**
   * Starts from an already resolved configuration (the CLI's `goqueue broker`). The data
   * directory is locked first (`<dataDir>/.lock`, whatever the storage): a second broker on it
   * fails with code `DATA_DIR_LOCKED` until this one stops or its process ends.
   */
  static async startWithConfig(
    config: BrokerConfig,
    logger: Logger,
    hints: StartHints = {},
  ): Promise<Broker> {
    const startedMs = performance.now();
    const { DirectoryLock } = await import('../storage/directory-lock.js');
    const lock = DirectoryLock.acquire(config.dataDir);
    raiseOpenFileLimit(logger);
    try {
      return await Broker.startLocked(config, logger, hints, lock, startedMs);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  private static async startLocked(
    config: BrokerConfig,
    logger: Logger,
    hints: StartHints,
    lock: DirectoryLock,
    startedMs: number,
  ): Promise<Broker> {
    const cleanup: Array<() => Promise<void>> = [];
    const undo = async (): Promise<void> => {
      for (const step of cleanup.reverse()) await step().catch(() => undefined);
    };
    try {
      return await Broker.startRaftMember(config, logger, hints, lock, startedMs, cleanup);
    } catch (error) {
      await undo();
      throw error;
    }
  }

  /**
   * One code path for every cluster size (a single broker is a cluster of one): the raft
   * transport, the MultiRaftNode with the controller group, the reconciler that opens this
   * broker's partition replicas from the applied metadata, then the Kafka listener.
   */
  private static async startRaftMember(
    config: BrokerConfig,
    logger: Logger,
    hints: StartHints,
    lock: DirectoryLock,
    startedMs: number,
    cleanup: Array<() => Promise<void>>,
  ): Promise<Broker> {
    const storage = hints.storage ?? (await import('./native-storage.js')).nativeStorage;
    const joining = config.joinAddress !== null;
    const members =
      config.initialCluster.length > 0
        ? config.initialCluster
        : joining
          ? []
          : [{ brokerId: config.brokerId, raftHost: config.raftHost, raftPort: config.raftPort }];
    const peers = new Map<NodeId, { host: string; port: number }>();
    for (const member of members)
      if (member.brokerId !== config.brokerId)
        peers.set(nodeId(member.brokerId), { host: member.raftHost, port: member.raftPort });
    const identity =
      joining && (await readClusterIdentity(config.dataDir)) === null
        ? await Broker.join(config, logger, peers)
        : await checkClusterIdentity(config.dataDir, expectedClusterIdentity(config));
    if (identity.fresh || identity.adopted)
      logger.info(
        { clusterId: identity.clusterId, adopted: identity.adopted },
        'data directory joined to the cluster',
      );
    const seed = config.brokerId * 7919 + Math.floor(Math.random() * 1_000_000);
    // Filled once the controller exists: a member answers a joining broker's request.
    let answerJoin: (id: NodeId, body: Buffer) => Promise<Buffer> = async () => {
      throw new Error('not ready for joiners yet');
    };
    const transport = new Transport({
      nodeId: nodeId(config.brokerId),
      listen: testOnlySwitches.raftListen ?? { host: config.raftHost, port: config.raftPort },
      peers,
      prng: new Prng(seed),
      logger: logger.child({ component: 'transport' }),
      clusterId: identity.clusterId,
      onJoinRequest: (id, body) => answerJoin(id, body),
    });
    const raftBound = await transport.start();
    cleanup.push(() => transport.stop());

    const node = new MultiRaftNode({
      nodeId: nodeId(config.brokerId),
      transport,
      seed,
      tickMs: config.raftTickMs,
      raft: { electionTicks: electionTicks(config), heartbeatTicks: 1, preVote: true, checkQuorum: true },
      logger: logger.child({ component: 'raft' }),
      // A leader's batch that rotted on its disk is refused here, not stored (it would stop the node).
      verifyEntry: verifyStoredBatch,
    });
    cleanup.push(() => node.close());
    node.on('error', (error) => logger.fatal({ err: error }, 'raft node failed; the broker stops serving'));
    const rpc = new ControllerRpc(transport, logger);
    cleanup.push(async () => rpc.close());

    const server = createServer({ noDelay: true });
    // Clients may connect as soon as the port is bound, before the broker is ready to serve:
    // their sockets wait (paused) and are served once it is (or closed if start fails).
    const early = new Set<Socket>();
    const holdEarly = (socket: Socket): void => {
      socket.pause();
      early.add(socket);
      socket.once('close', () => early.delete(socket));
    };
    server.on('connection', holdEarly);
    const bound = await listen(server, config.clientHost, config.clientPort);
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of early) socket.destroy();
          server.close(() => resolve());
        }),
    );
    const useBound =
      !hints.advertisedGiven && (config.advertisedPort === config.clientPort || config.advertisedPort === 0);
    const advertised = useBound
      ? { host: config.advertisedHost || bound.host, port: bound.port }
      : { host: config.advertisedHost, port: config.advertisedPort };

    const voters = controllerVoters({ ...config, initialCluster: members });
    const controller: Controller = new Controller({
      node,
      rpc,
      brokerId: config.brokerId,
      logger: logger.child({ component: 'controller' }),
      sessionTimeoutMs: config.brokerSessionTimeoutMs,
      heartbeatIntervalMs: config.brokerHeartbeatIntervalMs,
      self: {
        // A founding member is known by its --initial-cluster address (it may listen on a
        // wildcard); others by the address they listen on.
        raft: ((own) =>
          own !== undefined
            ? { host: own.raftHost, port: own.raftPort }
            : { host: advertiseHost(raftBound.host, config.raftHost), port: raftBound.port })(
          members.length > 1 ? members.find((member) => member.brokerId === config.brokerId) : undefined,
        ),
        client: advertised,
        rack: config.rack,
        incarnationId: randomUUID(),
      },
      isReachable: (brokerId) => transport.isConnected(nodeId(brokerId)),
      snapshotEveryEntries: hints.controllerSnapshotEntries ?? 1000,
      leaderReports: (): LeaderReport[] => topics.leaderReports(),
    });
    cleanup.push(async () => controller.stop());
    const topics: Topics = new Topics(config, controller, node, storage, logger);
    if (hints.replicaOpenConcurrency !== undefined) {
      if (!Number.isInteger(hints.replicaOpenConcurrency) || hints.replicaOpenConcurrency < 1)
        throw new RangeError(
          `replicaOpenConcurrency must be an integer of at least 1, got ${hints.replicaOpenConcurrency}`,
        );
      topics.openConcurrency = hints.replicaOpenConcurrency;
    }
    await topics.open();
    cleanup.push(() => topics.close());
    // The controller leader's self-healing and leader balancing (every broker answers its calls).
    const controllerTasks = new ControllerTasks({
      controller,
      node,
      rpc,
      brokerId: config.brokerId,
      logger: logger.child({ component: 'controller-tasks' }),
      tickMs: config.brokerHeartbeatIntervalMs,
      replicaReplaceAfterMs: config.replicaReplaceAfterMs,
      maxReplicaMoves: config.maxReplicaMoves,
      leaderBalanceIntervalMs: config.leaderBalanceIntervalMs,
      leaderImbalancePercent: config.leaderImbalancePercent,
      controllerVoters: config.controllerVoters,
      replicaBalance: config.replicaBalance,
      replicaImbalancePercent: config.replicaImbalancePercent,
      isReachable: (brokerId) => transport.isConnected(nodeId(brokerId)),
    });
    cleanup.push(async () => controllerTasks.stop());
    // Peers learned from the metadata (brokers that registered later) get a connection too.
    controller.on('change', (state: ControllerState) => {
      for (const broker of state.brokers()) {
        if (broker.brokerId === config.brokerId) continue;
        const known = peers.get(nodeId(broker.brokerId));
        if (known?.host === broker.raft.host && known.port === broker.raft.port) continue;
        peers.set(nodeId(broker.brokerId), broker.raft);
        transport.setPeer(nodeId(broker.brokerId), broker.raft);
      }
    });

    const controllerDir = join(config.dataDir, 'controller');
    const controllerFresh = !existsSync(join(controllerDir, RAFT_STATE_FILE));
    const controllerStorage = new DurableRaftStorage({
      log: storage.openLog(controllerDir, {
        // Small segments: a metadata snapshot releases the log before it segment by segment.
        segmentBytes: 4 * 1024 * 1024,
        segmentMs: 7 * 24 * 3600 * 1000,
        maxBatchBytes: 8 * 1024 * 1024,
      }),
      dir: controllerDir,
      // Founding members store the initial membership; a broker joining later starts empty
      // and learns it from the leader's snapshot.
      initialConfState: members.some((member) => member.brokerId === config.brokerId)
        ? {
            voters: voters.map(nodeId),
            learners: members.filter((m) => !voters.includes(m.brokerId)).map((m) => nodeId(m.brokerId)),
          }
        : { voters: [], learners: [] },
      fsync: config.fsyncEnabled,
      relaxedSyncIntervalMs: config.flushIntervalMs,
      // Raft's control batches carry no timestamp (Kafka's -1), as in partitions: every broker's
      // copy of the controller log is then the same bytes, so a damaged batch is repaired from any.
      wallMs: () => -1,
    });
    // A batch the scrubber finds damaged is rewritten from a peer replica's copy.
    const replicaRepair = new ReplicaRepair({
      rpc,
      brokerId: config.brokerId,
      dataDir: config.dataDir,
      replicasOf: (topicId, index) => {
        // Every broker holds the controller's log (a voter or a learner of its group).
        if (topicId === CONTROLLER_LOG_KEY)
          return controller.state.brokers().map((broker) => broker.brokerId);
        const partition = controller.state.topicById(topicId)?.partitions[index];
        return partition === undefined ? undefined : [...partition.replicas, ...partition.learners];
      },
      logger: logger.child({ component: 'replica-repair' }),
      committedIndexOf: (topicId, index) => {
        if (topicId === CONTROLLER_LOG_KEY) return servableCommitIndex(node.status(CONTROLLER_GROUP));
        const partition = controller.state.topicById(topicId)?.partitions[index];
        return partition === undefined ? undefined : servableCommitIndex(node.status(partition.groupId));
      },
    });
    topics.beforeOpen = (directory, log) => restoreCommitted(replicaRepair, directory, log);
    const scrubber = new Scrubber(
      config.scrubBytesPerSecond,
      logger.child({ component: 'scrubber' }),
      undefined,
      replicaRepair,
    );
    scrubber.start();
    cleanup.push(async () => scrubber.stop());
    topics.awaitRepair = async (log) =>
      log instanceof NativeLog && scrubber.repaired(log, PARTITION_REPAIR_WAIT_MS);
    controller.restore(controllerStorage.snapshot());
    const controllerGroup = { onApply: controller.onApply, onSnapshot: controller.onSnapshot };
    const controllerAdded = node.addGroup(CONTROLLER_GROUP, controllerStorage, controllerGroup);
    node.start();
    try {
      await controllerAdded;
    } catch (error) {
      // A damaged entry that may be a membership change: the read that found it asked for its
      // repair from another broker (the scrubber is listening); the group opens once it is done.
      const log = controllerStorage.log;
      if (!(error instanceof DamagedEntryError) || !(log instanceof NativeLog)) throw error;
      logger.error(
        { err: error, directory: controllerDir },
        'a damaged entry stops the controller group from opening; waiting for its repair from another broker',
      );
      if (!(await scrubber.repaired(log, CONTROLLER_REPAIR_WAIT_MS)))
        throw new Error(
          `the controller log in ${controllerDir} holds a damaged entry no other broker could repair within ${CONTROLLER_REPAIR_WAIT_MS} ms: ${error.message}`,
        );
      await node.addGroup(CONTROLLER_GROUP, controllerStorage, controllerGroup);
    }
    // A brand-new cluster elects its controller at once from its lowest voter (PreVote keeps
    // this harmless if others are ahead); a restart waits for the election timeout.
    if (
      (controllerFresh && voters[0] === config.brokerId) ||
      (voters.length === 1 && voters[0] === config.brokerId)
    )
      node.campaign(CONTROLLER_GROUP);
    controller.start();
    controllerTasks.start();
    answerJoin = async (id, body) => {
      // Every field is checked and copied: nothing a joiner sends becomes part of a command.
      const request = parseJoinRequest(body, config.initialClusterToken);
      const known = controller.state.broker(id);
      if (
        known !== undefined &&
        !known.fenced &&
        (known.raft.host !== request.raft.host || known.raft.port !== request.raft.port)
      )
        throw new Error(`broker id ${id} is registered and live at another address; refusing the join`);
      await controller.execute(
        {
          op: 'register',
          brokerId: id,
          raft: request.raft,
          client: request.client,
          rack: request.rack,
          incarnationId: 'join',
        },
        10_000,
      );
      await controller.execute({ op: 'add-learner', brokerId: id }, 10_000);
      const brokers = controller.state
        .brokers()
        .map((broker) => ({ brokerId: broker.brokerId, raft: broker.raft }));
      return Buffer.from(JSON.stringify({ clusterId: identity.clusterId, brokers }));
    };

    const groupHomes = new TopicGroupHomes(
      topics,
      () => controller.state.liveBrokers().length,
      {
        partitions: config.offsetsTopicPartitions,
        replicationFactor: config.offsetsTopicReplicationFactor,
        persistTimeoutMs: 30_000,
      },
      logger,
    );
    const diskSpace = new DiskSpaceGuard(config.dataDir, config.minFreeBytes, logger);
    diskSpace.start();
    cleanup.push(async () => diskSpace.stop());
    const context: BrokerContext = {
      config,
      brokerId: config.brokerId,
      advertised,
      topics,
      controller,
      controllerTasks,
      clusterId: identity.clusterId,
      purgatory: new FetchPurgatory(),
      producers: new ProducerState(async () =>
        controller.execute<{ firstProducerId: number; size: number }>(
          { op: 'allocate-producer-ids', brokerId: config.brokerId },
          30_000,
        ),
      ),
      storage,
      logger,
      groups: new GroupCoordinator({
        homes: groupHomes,
        logger,
        offsetsRetentionMs: config.offsetsRetentionMs,
      }),
      groupHomes,
      diskSpace,
      scrubber,
      servedApis: SUPPORTED_APIS.filter((api) => HANDLERS.some((handler) => handler.apiKey === api.apiKey)),
    };
    // A cluster of one is ready once it has registered itself; a member of a larger cluster
    // serves (and answers "not available yet") while its peers come up.
    if (voters.length === 1 && voters[0] === config.brokerId) {
      await controller.registeredSelf(15_000);
      // A restarted cluster of one serves its partitions as soon as start resolves, as it did
      // before it ran on Raft: wait (bounded) for its replicas to open and elect themselves.
      await topics.reconciled();
      await topics.soleVotersLeading(5_000);
    } else if (!controllerFresh) {
      // A restarted member answers Metadata from its applied copy of the controller log: it
      // serves once that copy has caught up with the controller leader (early clients wait,
      // paused), so a topic created before the restart is never answered as unknown.
      const caughtUp = await controller.metadataCaughtUp(METADATA_CATCH_UP_MS);
      if (!caughtUp)
        logger.warn(
          { waitedMs: METADATA_CATCH_UP_MS },
          'no controller leader reached; serving the cluster metadata this broker has, which may lag',
        );
    }
    let sweeping = false;
    const retentionTimer =
      config.cleanupIntervalMs > 0
        ? setInterval(() => {
            if (sweeping) return; // the previous sweep is still running
            sweeping = true;
            topics
              .runRetention(Date.now())
              .then(
                async (removed) => {
                  if (removed > 0) logger.info({ entries: removed }, 'retention removed old segments');
                  await topics.checkpointProducers(Date.now());
                },
                (error: unknown) => logger.error({ err: error }, 'retention sweep failed'),
              )
              .finally(() => {
                sweeping = false;
              });
          }, config.cleanupIntervalMs)
        : null;
    retentionTimer?.unref();
    // The admin HTTP listener (cluster view, decommission) when server.http_port asks for one.
    let started: Broker | undefined; // the broker its answers describe, once constructed
    const adminHttp =
      config.httpPort >= 0
        ? await startAdminHttp({
            host: config.clientHost,
            port: config.httpPort,
            tasks: controllerTasks,
            logger,
            broker: () => ({
              brokerId: config.brokerId,
              followerReads: followerReadStats(context),
              scrubber: scrubber.stats(),
              diskSpace: diskSpace.stats(),
              connections: started?.connectionStats() ?? null,
              // The native storage's cache of open segment files (one per process).
              segmentFiles: hints.storage === undefined ? segmentFileCacheStats() : null,
            }),
          })
        : null;
    cleanup.push(async () => adminHttp?.close());
    const broker = new Broker(
      config,
      bound,
      server,
      context,
      { node, transport, rpc, controllerTasks, adminHttp },
      retentionTimer,
      lock,
    );
    started = broker;
    // A failed raft node (a disk error in a sync) can promise nothing any more: the broker stops
    // instead of lingering as a process that holds its ports but serves nothing.
    node.on('error', (error: unknown) => broker.fail(error));
    server.off('connection', holdEarly);
    broker.accept(new RequestRouter(context, HANDLERS, logger), [...early]);
    logger.info(
      {
        address: `${bound.host}:${bound.port}`,
        raftAddress: `${raftBound.host}:${raftBound.port}`,
        clusterId: identity.clusterId,
        dataDir: config.dataDir,
        startupMs: Math.round(performance.now() - startedMs),
      },
      'broker started',
    );
    return broker;
  }

  /**
   * A broker started with `--join` and an empty data directory asks a member (its raft
   * address) to let it in: the controller leader registers it and adds it to the controller
   * group as a learner; the answer names the cluster id (stored in cluster.json) and the
   * members' raft addresses. Retried until a member answers (the cluster may be electing).
   */
  private static async join(
    config: BrokerConfig,
    logger: Logger,
    peers: Map<NodeId, { host: string; port: number }>,
  ): Promise<{ clusterId: string; fresh: boolean; adopted: boolean }> {
    const address = config.joinAddress as { host: string; port: number };
    const body = Buffer.from(
      JSON.stringify({
        raft: { host: advertiseHost(config.raftHost, config.raftHost), port: config.raftPort },
        client: {
          host: config.advertisedHost || config.clientHost,
          port: config.advertisedPort || config.clientPort,
        },
        rack: config.rack,
        token: config.initialClusterToken,
      }),
    );
    const deadline = performance.now() + 120_000;
    for (let attempt = 1; ; attempt++) {
      try {
        const reply = JSON.parse(
          (await requestJoin(address, nodeId(config.brokerId), body, 15_000)).toString('utf8'),
        ) as {
          clusterId: string;
          brokers: Array<{ brokerId: number; raft: { host: string; port: number } }>;
        };
        for (const broker of reply.brokers)
          if (broker.brokerId !== config.brokerId) peers.set(nodeId(broker.brokerId), broker.raft);
        const identity = await checkClusterIdentity(config.dataDir, {
          brokerId: config.brokerId,
          clusterId: reply.clusterId,
        });
        logger.info(
          { clusterId: reply.clusterId, via: `${address.host}:${address.port}` },
          'joined the cluster',
        );
        return identity;
      } catch (error) {
        if (performance.now() > deadline)
          throw new Error(
            `could not join the cluster through ${address.host}:${address.port}: ${(error as Error).message}`,
          );
        logger.warn({ err: error, attempt }, 'join request failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 200 * attempt)));
      }
    }
  }

  /** The connection limits' counters (open connections, request bytes held, refusals, timeouts). */
  connectionStats(): ConnectionBudgetStats | null {
    return this.connectionBudget?.stats() ?? null;
  }

  /** Stops accepting, closes client connections, answers waiting fetches, flushes and closes
   * every partition log and the metadata store. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const { logger, topics, purgatory, controller, groups } = this.context;
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    purgatory.shutdown();
    groups.shutdown();
    for (const connection of this.connections) connection.close();
    this.connectionBudget?.close();
    this.context.diskSpace?.stop();
    this.context.scrubber?.stop();
    await closed;
    try {
      controller.stop();
      this.raft.controllerTasks.stop();
      await this.raft.adminHttp?.close();
      this.raft.rpc.close();
      await topics.close();
      // Stops the Ready loop (the round in flight finishes) and closes every group's storage.
      await this.raft.node.close();
      await this.raft.transport.stop();
    } finally {
      this.dataDirLock.release();
    }
    logger.info('broker stopped');
  }

  private accept(router: RequestRouter, early: readonly Socket[]): void {
    let nextId = 1;
    const maxFrameBytes = Math.max(
      this.config.maxRequestBytes,
      this.config.maxMessageBytes + REQUEST_OVERHEAD_BYTES,
    );
    const budget = connectionBudget(this.config, maxFrameBytes, this.context.logger);
    this.connectionBudget = budget;
    const serve = (socket: Socket): void => {
      if (this.stopping !== null || !budget.admit(socket.remoteAddress ?? 'unknown')) {
        socket.destroy();
        return;
      }
      const connection = new Connection(
        socket,
        nextId++,
        router.handle,
        { maxFrameBytes, maxInFlight: MAX_IN_FLIGHT_PER_CONNECTION, logger: this.context.logger, budget },
        (closed) => this.connections.delete(closed),
      );
      this.connections.add(connection);
      socket.resume();
    };
    this.server.on('connection', serve);
    for (const socket of early) if (!socket.destroyed) serve(socket);
  }
}

/** A join request's body, checked field by field (it comes from an unauthenticated peer). */
function parseJoinRequest(
  body: Buffer,
  token: string,
): { raft: { host: string; port: number }; client: { host: string; port: number }; rack: string | null } {
  if (body.length > 4096) throw new Error('join request too large');
  const value = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  const endpoint = (field: string): { host: string; port: number } => {
    const raw = value[field] as { host?: unknown; port?: unknown } | undefined;
    const host = raw?.host;
    const port = raw?.port;
    if (typeof host !== 'string' || host.length === 0 || host.length > 255)
      throw new Error(`join request: ${field}.host must be a host name`);
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
      throw new Error(`join request: ${field}.port must be a port number`);
    return { host, port };
  };
  const rack = value.rack;
  if (rack !== null && (typeof rack !== 'string' || rack.length > 255))
    throw new Error('join request: rack must be a string or null');
  if (value.token !== token) throw new Error('join request: wrong initial_cluster_token');
  return { raft: endpoint('raft'), client: endpoint('client'), rack };
}

/** The host peers should dial: the configured one unless it is a wildcard. */
function advertiseHost(boundHost: string, configuredHost: string): string {
  if (configuredHost !== '0.0.0.0' && configuredHost !== '::' && configuredHost !== '') return configuredHost;
  return boundHost === '0.0.0.0' || boundHost === '::' ? '127.0.0.1' : boundHost;
}

function listen(server: Server, host: string, port: number): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('listener has no TCP address'));
        return;
      }
      resolve({ host: address.address, port: address.port });
    });
  });
}
