import { ApiKey } from '../protocol/index.js';
import { backoffMs } from './backoff.js';
import type { CallOptions, Client } from './client.js';
import { Connection } from './connection.js';
import { AbortError, ConnectionError, GoqueueError, KafkaProtocolError, TimeoutError } from './errors.js';

/** FindCoordinator's key type for a consumer group. */
const KEY_TYPE_GROUP = 0;

/** Codes after which the coordinator must be looked up again (the Java client's set). */
export const COORDINATOR_MOVED_CODES: ReadonlySet<number> = new Set([
  15, // COORDINATOR_NOT_AVAILABLE
  16, // NOT_COORDINATOR
]);

/** Codes a group request is simply retried after (the coordinator is still loading its groups). */
export const COORDINATOR_RETRY_CODES: ReadonlySet<number> = new Set([
  14, // COORDINATOR_LOAD_IN_PROGRESS
  7, // REQUEST_TIMED_OUT
]);

/** True when `error` says the coordinator moved or is unreachable: find it again. */
export function coordinatorLost(error: unknown): boolean {
  if (error instanceof KafkaProtocolError) return COORDINATOR_MOVED_CODES.has(error.code);
  return error instanceof ConnectionError || error instanceof TimeoutError;
}

export interface CoordinatorAddress {
  nodeId: number;
  host: string;
  port: number;
}

/**
 * The link from one group member to its group's coordinator: FindCoordinator, then a connection
 * of its own (not the client's shared one to that broker), so heartbeats and commits never wait
 * behind long-polling fetches, and a JoinGroup held open by the coordinator blocks nothing else
 * of the client. `reset()` drops it; the next request looks the coordinator up again (after
 * NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or a broken connection, as the Java client does).
 */
export class CoordinatorLink {
  private current: Promise<{ address: CoordinatorAddress; connection: Connection }> | null = null;
  private lookups = 0;

  constructor(
    private readonly client: Client,
    readonly groupId: string,
  ) {}

  /** The coordinator's address once known (for describe output and logs). */
  async address(options: CallOptions = {}): Promise<CoordinatorAddress> {
    return (await this.open(options)).address;
  }

  /** Sends one request to the coordinator; a broken connection resets the link. */
  async request<T = any>(apiKey: number, body: object, options: CallOptions = {}): Promise<T> {
    const { connection } = await this.open(options);
    try {
      return await connection.request<T>(apiKey, body, {
        timeoutMs: options.timeoutMs ?? this.client.timeoutMs,
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof ConnectionError || error instanceof TimeoutError) this.reset();
      throw error;
    }
  }

  /** The coordinator connection's version of `apiKey`. */
  async versionFor(apiKey: number, options: CallOptions = {}): Promise<number> {
    return (await this.open(options)).connection.versionFor(apiKey);
  }

  /** Forgets the coordinator (and closes its connection, ending any request held on it). */
  reset(): void {
    const previous = this.current;
    this.current = null;
    previous?.then(
      ({ connection }) => connection.close(),
      () => undefined,
    );
  }

  close(): void {
    this.reset();
  }

  private open(options: CallOptions): Promise<{ address: CoordinatorAddress; connection: Connection }> {
    if (this.current === null) {
      const opening = this.connect(options);
      this.current = opening;
      opening.then(
        ({ connection }) =>
          connection.onClose(() => {
            if (this.current === opening) this.current = null;
          }),
        () => {
          if (this.current === opening) this.current = null;
        },
      );
    }
    return this.current;
  }

  /** FindCoordinator with retries while the cluster has none, then a dedicated connection. */
  private async connect(
    options: CallOptions,
  ): Promise<{ address: CoordinatorAddress; connection: Connection }> {
    const address = await this.client.retrying(() => findCoordinator(this.client, this.groupId, options), {
      ...options,
    });
    this.lookups++;
    const connection = await Connection.connect({
      host: address.host,
      port: address.port,
      clientId: this.client.clientId,
      connectTimeoutMs: options.timeoutMs ?? this.client.timeoutMs,
      maxInFlight: 8,
    });
    return { address, connection };
  }

  /** How many times the coordinator was looked up (tests check failover went through it). */
  get lookupCount(): number {
    return this.lookups;
  }
}

/** One FindCoordinator for a group, through any broker. */
export async function findCoordinator(
  client: Client,
  groupId: string,
  options: CallOptions = {},
): Promise<CoordinatorAddress> {
  const connection = await client.anyConnection(options);
  const response = await client.send(
    connection,
    ApiKey.FindCoordinator,
    { key: groupId, keyType: KEY_TYPE_GROUP },
    options,
  );
  if (response.errorCode !== 0) {
    throw new KafkaProtocolError(response.errorCode, {
      detail: `finding the coordinator of group "${groupId}"${response.errorMessage ? `: ${response.errorMessage}` : ''}`,
      // A cluster without a coordinator yet (no controller, loading) is worth waiting for.
      ...(COORDINATOR_MOVED_CODES.has(response.errorCode) || COORDINATOR_RETRY_CODES.has(response.errorCode)
        ? { retriable: true }
        : {}),
    });
  }
  if (response.nodeId < 0 || !response.host)
    throw new GoqueueError(`FindCoordinator for group "${groupId}" named no broker`, { retriable: true });
  return { nodeId: response.nodeId, host: response.host, port: response.port };
}

/**
 * Runs a coordinator request and retries it while the coordinator is moving or loading:
 * NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / a broken connection reset the link (the next try
 * finds the coordinator again), COORDINATOR_LOAD_IN_PROGRESS waits. Other errors are the
 * caller's. `attemptsMax` bounds the tries.
 */
export async function withCoordinator<T>(
  link: CoordinatorLink,
  client: Client,
  operation: () => Promise<T>,
  options: CallOptions & { attemptsMax?: number } = {},
): Promise<T> {
  const attemptsMax = options.attemptsMax ?? client.retryOptions.retries + 1;
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted) throw new AbortError('the group request', options.signal.reason);
    try {
      return await operation();
    } catch (error) {
      const moved = coordinatorLost(error);
      const loading = error instanceof KafkaProtocolError && COORDINATOR_RETRY_CODES.has(error.code);
      if ((!moved && !loading) || attempt + 1 >= attemptsMax) throw error;
      if (moved) link.reset();
      await client.clock.sleep(backoffMs(attempt, client.retryOptions, client.random), options.signal);
    }
  }
}
