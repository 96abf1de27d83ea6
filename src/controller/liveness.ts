/**
 * Broker liveness leases, tracked by the controller leader only (DESIGN decision 7). A broker
 * heartbeats the leader; one whose last heartbeat is older than the session timeout has
 * `expired`, and the leader proposes `fence-broker` for it. Time comes in as numbers (a
 * monotonic clock's milliseconds), so the same code runs under the simulator's virtual time.
 *
 * The leases live in the leader's memory, not in the replicated state: a new leader does not know
 * when brokers last heartbeated its predecessor, so `reset` gives every known broker a full
 * session from the moment it took over instead of fencing them all at once.
 */
import { assert } from '../lib/assert.js';

export class BrokerLiveness {
  private readonly sessionTimeoutMs: number;
  /** Broker id → monotonic time of its last heartbeat. */
  private readonly lastHeartbeatMs = new Map<number, number>();

  constructor(options: { sessionTimeoutMs: number }) {
    assert(
      Number.isFinite(options.sessionTimeoutMs) && options.sessionTimeoutMs > 0,
      'the session timeout is a positive number of milliseconds',
    );
    this.sessionTimeoutMs = options.sessionTimeoutMs;
  }

  /** Becoming controller leader: every known broker gets a full session from now (no false fencing
   * after a controller failover). Forgets brokers not listed. */
  reset(brokerIds: Iterable<number>, nowMs: number): void {
    assert(Number.isFinite(nowMs), 'now is a finite time');
    this.lastHeartbeatMs.clear();
    for (const brokerId of brokerIds) this.lastHeartbeatMs.set(brokerId, nowMs);
  }

  /** Renews `brokerId`'s lease (and starts tracking it). A time earlier than the one recorded
   * (reordered calls) never shortens the lease. */
  heartbeat(brokerId: number, nowMs: number): void {
    assert(Number.isFinite(nowMs), 'now is a finite time');
    const last = this.lastHeartbeatMs.get(brokerId);
    if (last === undefined || nowMs > last) this.lastHeartbeatMs.set(brokerId, nowMs);
  }

  /** Brokers whose last heartbeat is older than the session timeout, by id. They stay listed until
   * they heartbeat again or are forgotten, so the caller skips those it has already fenced. */
  expired(nowMs: number): number[] {
    assert(Number.isFinite(nowMs), 'now is a finite time');
    const expired: number[] = [];
    for (const [brokerId, last] of this.lastHeartbeatMs) {
      if (nowMs - last > this.sessionTimeoutMs) expired.push(brokerId);
    }
    return expired.sort((a, b) => a - b);
  }

  /** Stops tracking a broker (fenced and no longer expected, or removed). */
  forget(brokerId: number): void {
    this.lastHeartbeatMs.delete(brokerId);
  }

  /** When `brokerId` last heartbeated, or undefined when it is not tracked. */
  lastHeartbeat(brokerId: number): number | undefined {
    return this.lastHeartbeatMs.get(brokerId);
  }
}
