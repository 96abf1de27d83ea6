import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/types.js';
import type { ApiVersionRange, RequestHeader } from '../protocol/index.js';
import type { DiskSpaceGuard } from '../storage/disk-space.js';
import type { ConnectionInfo } from './connection.js';
import type { Controller } from './controller.js';
import type { ControllerTasks } from './controller-tasks.js';
import type { FetchPurgatory } from './fetch-purgatory.js';
import type { GroupCoordinator } from './group-coordinator.js';
import type { TopicGroupHomes } from './group-homes.js';
import type { ProducerState } from './producer-state.js';
import type { Scrubber } from './scrubber.js';
import type { BrokerStorage } from './storage.js';
import type { Topics } from './topics.js';

/** What handlers may use: the broker's services, never its sockets. */
export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly brokerId: number;
  /** Host and port clients are told to connect to. */
  readonly advertised: { host: string; port: number };
  readonly topics: Topics;
  /** The controller group's applied metadata and its command path. */
  readonly controller: Controller;
  /** Replica moves and leadership transfers (ElectLeaders asks a partition leader through it). */
  readonly controllerTasks?: ControllerTasks;
  readonly clusterId: string;
  readonly purgatory: FetchPurgatory;
  readonly producers: ProducerState;
  readonly storage: BrokerStorage;
  readonly groups: GroupCoordinator;
  /** Where each consumer group lives (its `__consumer_offsets` partition and coordinator). */
  readonly groupHomes: TopicGroupHomes;
  readonly logger: Logger;
  /** Free space of the data disk: produce is refused while it is full (docs/operations.md). */
  diskSpace?: DiskSpaceGuard;
  /** Background CRC32C re-verification of sealed segments (`scrub_rate`). */
  scrubber?: Scrubber;
  /** The codec's advertised ranges of the APIs this broker has handlers for (ApiVersions). */
  readonly servedApis: readonly ApiVersionRange[];
}

export interface RequestContext {
  broker: BrokerContext;
  header: RequestHeader;
  connection: ConnectionInfo;
  logger: Logger;
}

/**
 * One API's handler. Request and response bodies are the protocol codec's objects (field names
 * of Kafka's message schemas). `handle` returns null for no response (Produce acks=0);
 * `errorResponse` answers the same request with one error code everywhere (used when the
 * version is not served or the handler failed unexpectedly).
 */
export interface Handler {
  readonly apiKey: number;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are typed per API by the codec
  handle(request: any, context: RequestContext): Promise<object | null> | object | null;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are typed per API by the codec
  errorResponse(request: any, errorCode: number): object | null;
}
