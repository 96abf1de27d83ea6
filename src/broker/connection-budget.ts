import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/types.js';
import { assert } from '../lib/assert.js';
import { RateLimitedLog } from '../log/rate-limited.js';

/** The broker-wide limits on client connections and the request bytes they hold. */
export interface ConnectionLimits {
  /** Bytes of requests being received or queued (partial frames buffered, whole frames not yet
   * answered), over every connection (`queued_max_request_bytes`, Kafka's
   * `queued.max.request.bytes`). Past it the broker stops reading from sockets. */
  queuedMaxRequestBytes: number;
  /** Open client connections (`max_connections`); more are closed as they arrive. */
  maxConnections: number;
  /** Open client connections from one IP address (`max_connections_per_ip`). */
  maxConnectionsPerIp: number;
  /** A connection with nothing buffered and nothing in flight this long is closed
   * (`connections_max_idle`). */
  idleTimeoutMs: number;
  /** A request frame must arrive whole within this long of its first byte (`request_read_timeout`):
   * a client that starts a frame and trickles it (slowloris) is closed. */
  requestReadTimeoutMs: number;
}

/** What the budget needs from a connection. */
export interface BudgetMember {
  /** Called when the budget has room again after this member was parked. */
  resumeFromBudget(): void;
  /** Called by the sweep; returns why the connection must be closed now, or null. */
  overdue(nowMs: number): 'idle' | 'slow' | null;
  /** Closes the connection (the budget calls it for an overdue member). */
  close(): void;
  readonly remoteIp: string;
}

/** Counters of the connection limits (the broker's metrics for them). */
export interface ConnectionBudgetStats {
  openConnections: number;
  /** Request bytes currently held (received and not yet answered). */
  heldBytes: number;
  /** The most request bytes ever held at once. */
  peakHeldBytes: number;
  /** Times the budget was exhausted and sockets stopped being read. */
  backPressureEvents: number;
  /** Connections refused by `max_connections` / `max_connections_per_ip`. */
  refusedConnections: number;
  /** Connections closed by `connections_max_idle`. */
  idleClosed: number;
  /** Connections closed by `request_read_timeout`. */
  slowClosed: number;
}

/**
 * Accounts for the request bytes every client connection holds and for the connections
 * themselves. Bytes are counted as they arrive (a frame that announces 95 MiB costs what has
 * been received of it, never what it announces) and released when the request is answered or
 * the connection closes. While the total is at or above `queuedMaxRequestBytes`, a connection
 * that receives bytes parks itself (pauses its socket) until the total falls below the cap, so
 * memory stays within the cap plus one socket read (64 KiB) per connection.
 *
 * A partial frame keeps its `request_read_timeout` clock running while parked, so connections
 * that fill the budget with frames they never finish are closed and give the room back: the
 * budget cannot deadlock on partial frames.
 */
export class ConnectionBudget {
  private heldBytes = 0;
  private readonly parked = new Set<BudgetMember>();
  private readonly members = new Set<BudgetMember>();
  private readonly perIp = new Map<string, number>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly counters = {
    peakHeldBytes: 0,
    backPressureEvents: 0,
    refusedConnections: 0,
    idleClosed: 0,
    slowClosed: 0,
  };
  readonly warnings: RateLimitedLog;

  constructor(
    readonly limits: ConnectionLimits,
    private readonly logger: Logger,
  ) {
    assert(limits.queuedMaxRequestBytes > 0, 'queuedMaxRequestBytes must be positive');
    this.warnings = new RateLimitedLog(logger);
  }

  /** Whether a new connection from `ip` may open; counts it when it may. */
  admit(ip: string): boolean {
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.members.size >= this.limits.maxConnections || fromIp >= this.limits.maxConnectionsPerIp) {
      this.counters.refusedConnections++;
      const limit = fromIp >= this.limits.maxConnectionsPerIp ? 'max_connections_per_ip' : 'max_connections';
      this.warnings.warn(
        { remoteAddress: ip, limit, open: this.members.size, openFromAddress: fromIp },
        'refusing a connection over the connection limit',
      );
      return false;
    }
    return true;
  }

  /** Starts accounting for an admitted connection. */
  join(member: BudgetMember): void {
    this.members.add(member);
    this.perIp.set(member.remoteIp, (this.perIp.get(member.remoteIp) ?? 0) + 1);
    this.startSweep();
  }

  /** Stops accounting for a closed connection (its bytes are released by the connection). */
  leave(member: BudgetMember): void {
    if (!this.members.delete(member)) return;
    this.parked.delete(member);
    const fromIp = (this.perIp.get(member.remoteIp) ?? 1) - 1;
    if (fromIp === 0) this.perIp.delete(member.remoteIp);
    else this.perIp.set(member.remoteIp, fromIp);
    if (this.members.size === 0) this.stopSweep();
  }

  /** Bytes received by a connection. */
  hold(bytes: number): void {
    const wasFull = this.exhausted;
    this.heldBytes += bytes;
    if (this.heldBytes > this.counters.peakHeldBytes) this.counters.peakHeldBytes = this.heldBytes;
    if (!wasFull && this.exhausted) {
      this.counters.backPressureEvents++;
      this.warnings.warn(
        { heldBytes: this.heldBytes, queuedMaxRequestBytes: this.limits.queuedMaxRequestBytes },
        'request bytes reached queued_max_request_bytes; pausing reads',
      );
    }
  }

  /** Bytes a connection no longer holds (request answered, connection closed). */
  release(bytes: number): void {
    this.heldBytes -= bytes;
    assert(this.heldBytes >= 0, 'released more request bytes than were held');
    // Wake parked connections in the order they parked until the budget is full again; the
    // others stay parked for the next release.
    for (const member of [...this.parked]) {
      if (this.exhausted) break;
      this.parked.delete(member);
      member.resumeFromBudget();
    }
  }

  /** Whether reading must pause. */
  get exhausted(): boolean {
    return this.heldBytes >= this.limits.queuedMaxRequestBytes;
  }

  /** Parks `member` until the budget has room. */
  park(member: BudgetMember): void {
    this.parked.add(member);
  }

  stats(): ConnectionBudgetStats {
    return { openConnections: this.members.size, heldBytes: this.heldBytes, ...this.counters };
  }

  /** Stops the sweep and writes the summaries of suppressed warnings. */
  close(): void {
    this.stopSweep();
    this.warnings.flush();
  }

  private startSweep(): void {
    if (this.sweepTimer !== null) return;
    const shortest = Math.min(this.limits.idleTimeoutMs, this.limits.requestReadTimeoutMs);
    // A quarter of the shortest timeout (at most 1 s): a connection is closed at most 25 % late.
    const periodMs = Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
    this.sweepTimer = setInterval(() => this.sweep(), periodMs);
    this.sweepTimer.unref();
  }

  private stopSweep(): void {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  private sweep(): void {
    const nowMs = Date.now();
    for (const member of [...this.members]) {
      const reason = member.overdue(nowMs);
      if (reason === null) continue;
      if (reason === 'idle') {
        this.counters.idleClosed++;
        this.logger.debug({ remoteAddress: member.remoteIp }, 'closing an idle connection');
      } else {
        this.counters.slowClosed++;
        this.warnings.warn(
          { remoteAddress: member.remoteIp, requestReadTimeoutMs: this.limits.requestReadTimeoutMs },
          'closing a connection that did not complete a request within request_read_timeout',
        );
      }
      member.close();
    }
  }
}

/** The broker's budget from its configuration; the byte cap is never below one whole frame, or
 * a request of the largest accepted size could never be received. */
export function connectionBudget(
  config: Pick<
    BrokerConfig,
    | 'queuedMaxRequestBytes'
    | 'maxConnections'
    | 'maxConnectionsPerIp'
    | 'connectionsMaxIdleMs'
    | 'requestReadTimeoutMs'
  >,
  maxFrameBytes: number,
  logger: Logger,
): ConnectionBudget {
  return new ConnectionBudget(
    {
      queuedMaxRequestBytes: Math.max(config.queuedMaxRequestBytes, maxFrameBytes + 4),
      maxConnections: config.maxConnections,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      idleTimeoutMs: config.connectionsMaxIdleMs,
      requestReadTimeoutMs: config.requestReadTimeoutMs,
    },
    logger,
  );
}
