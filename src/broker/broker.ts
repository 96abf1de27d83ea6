import { createServer, type Server, type Socket } from 'node:net';
import { type Logger, pino } from 'pino';
import { defaultConfig } from '../config/load.js';
import type { BrokerConfig } from '../config/types.js';
import { SUPPORTED_APIS } from '../protocol/index.js';
import type { DirectoryLock } from '../storage/directory-lock.js';
import { Connection } from './connection.js';
import type { BrokerContext } from './context.js';
import { FetchPurgatory } from './fetch-purgatory.js';
import { GroupCommit } from './group-commit.js';
import { GroupCoordinator } from './group-coordinator.js';
import { HANDLERS } from './handlers/index.js';
import { JsonFileMetadataStore } from './metadata-store.js';
import { OffsetStore } from './offset-store.js';
import { ProducerState } from './producer-state.js';
import { RequestRouter } from './request-router.js';
import type { BrokerStorage } from './storage.js';
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
}

/**
 * A single-node goqueue broker: the Kafka listener, the topics' partition logs, group commit,
 * retention and the metadata store. `Broker.start` resolves once the listener is bound.
 */
export class Broker {
  readonly address: { host: string; port: number };
  readonly brokerId: number;
  readonly config: BrokerConfig;
  private readonly connections = new Set<Connection>();
  private stopping: Promise<void> | null = null;

  private constructor(
    config: BrokerConfig,
    address: { host: string; port: number },
    private readonly server: Server,
    private readonly context: BrokerContext,
    private readonly groupCommit: GroupCommit,
    private readonly retentionTimer: NodeJS.Timeout | null,
    private readonly dataDirLock: DirectoryLock,
  ) {
    this.config = config;
    this.address = address;
    this.brokerId = config.brokerId;
  }

  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const { logger: givenLogger, host, port, storage, ...overrides } = options;
    if (host !== undefined) overrides.clientHost ??= host;
    if (port !== undefined) overrides.clientPort ??= port;
    const config = defaultConfig(overrides);
    const logger = (givenLogger ?? pino({ level: 'silent' })).child({ brokerId: config.brokerId });
    return Broker.startWithConfig(config, logger, {
      advertisedGiven: overrides.advertisedHost !== undefined || overrides.advertisedPort !== undefined,
      storage,
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
    hints: { advertisedGiven?: boolean; storage?: BrokerStorage | undefined } = {},
  ): Promise<Broker> {
    const startedMs = performance.now();
    const { DirectoryLock } = await import('../storage/directory-lock.js');
    const lock = DirectoryLock.acquire(config.dataDir);
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
    hints: { advertisedGiven?: boolean; storage?: BrokerStorage | undefined },
    lock: DirectoryLock,
    startedMs: number,
  ): Promise<Broker> {
    const metadata = await JsonFileMetadataStore.open(config.dataDir);
    const offsets = await OffsetStore.open(config.dataDir);
    const groupCommit = new GroupCommit(config.flushIntervalMs, logger);
    const storage = hints.storage ?? (await import('./native-storage.js')).nativeStorage;
    const topics = new Topics(config, metadata, groupCommit, storage, logger);
    try {
      await topics.open();
    } catch (error) {
      await topics.close().catch(() => undefined);
      throw error;
    }
    const server = createServer({ noDelay: true });
    const bound = await listen(server, config.clientHost, config.clientPort).catch(async (error) => {
      await topics.close();
      throw error;
    });
    const useBound =
      !hints.advertisedGiven && (config.advertisedPort === config.clientPort || config.advertisedPort === 0);
    const advertised = useBound
      ? { host: config.advertisedHost || bound.host, port: bound.port }
      : {
          host: config.advertisedHost,
          port: config.advertisedPort,
        };
    const context: BrokerContext = {
      config,
      brokerId: config.brokerId,
      advertised,
      topics,
      metadata,
      purgatory: new FetchPurgatory(),
      producers: new ProducerState(metadata, config.deduplicationEnabled),
      storage,
      logger,
      groups: new GroupCoordinator(logger),
      offsets,
      servedApis: SUPPORTED_APIS.filter((api) => HANDLERS.some((handler) => handler.apiKey === api.apiKey)),
    };
    let sweeping = false;
    const retentionTimer =
      config.cleanupIntervalMs > 0
        ? setInterval(() => {
            if (sweeping) return; // the previous sweep is still running
            sweeping = true;
            topics
              .runRetention(Date.now())
              .then(
                (removed) => {
                  if (removed > 0) logger.info({ entries: removed }, 'retention removed old segments');
                },
                (error: unknown) => logger.error({ err: error }, 'retention sweep failed'),
              )
              .finally(() => {
                sweeping = false;
              });
          }, config.cleanupIntervalMs)
        : null;
    retentionTimer?.unref();
    const broker = new Broker(config, bound, server, context, groupCommit, retentionTimer, lock);
    broker.accept(new RequestRouter(context, HANDLERS, logger));
    logger.info(
      {
        address: `${bound.host}:${bound.port}`,
        dataDir: config.dataDir,
        topics: topics.list().length,
        startupMs: Math.round(performance.now() - startedMs),
      },
      'broker started',
    );
    return broker;
  }

  /** Stops accepting, closes client connections, answers waiting fetches, flushes and closes
   * every partition log and the metadata store. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const { logger, topics, purgatory, metadata, groups, offsets } = this.context;
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    purgatory.shutdown();
    groups.shutdown();
    for (const connection of this.connections) connection.close();
    await closed;
    try {
      await this.groupCommit.stop();
      await topics.close();
      await metadata.close();
      await offsets.close();
    } finally {
      this.dataDirLock.release();
    }
    logger.info('broker stopped');
  }

  private accept(router: RequestRouter): void {
    let nextId = 1;
    const maxFrameBytes = Math.max(
      this.config.maxRequestBytes,
      this.config.maxMessageBytes + REQUEST_OVERHEAD_BYTES,
    );
    this.server.on('connection', (socket: Socket) => {
      if (this.stopping !== null) {
        socket.destroy();
        return;
      }
      const connection = new Connection(
        socket,
        nextId++,
        router.handle,
        { maxFrameBytes, maxInFlight: MAX_IN_FLIGHT_PER_CONNECTION, logger: this.context.logger },
        (closed) => this.connections.delete(closed),
      );
      this.connections.add(connection);
    });
  }
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
