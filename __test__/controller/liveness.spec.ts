/** Broker liveness leases: expiry after the session timeout, renewal by heartbeats, and a full
 * session for everyone after a controller failover. Time is passed in; nothing waits. */
import test from 'ava';
import { BrokerLiveness } from '../../src/controller/index.js';

test('a broker expires once its last heartbeat is older than the session timeout, not before', (t) => {
  const liveness = new BrokerLiveness({ sessionTimeoutMs: 1000 });
  liveness.heartbeat(1, 0);
  liveness.heartbeat(2, 500);
  t.deepEqual(liveness.expired(1000), [], 'exactly the timeout is still alive');
  t.deepEqual(liveness.expired(1001), [1]);
  t.deepEqual(liveness.expired(1501), [1, 2]);
});

test('a heartbeat renews the lease; an earlier time (reordered calls) never shortens it', (t) => {
  const liveness = new BrokerLiveness({ sessionTimeoutMs: 1000 });
  liveness.heartbeat(1, 0);
  liveness.heartbeat(1, 900);
  t.deepEqual(liveness.expired(1500), []);
  liveness.heartbeat(1, 100);
  t.is(liveness.lastHeartbeat(1), 900);
  t.deepEqual(liveness.expired(1901), [1]);
  liveness.heartbeat(1, 1950);
  t.deepEqual(liveness.expired(2000), [], 'a heartbeat after expiry revives the broker');
});

test('expired brokers stay listed until they heartbeat or are forgotten; results are sorted by id', (t) => {
  const liveness = new BrokerLiveness({ sessionTimeoutMs: 10 });
  for (const id of [5, 3, 9]) liveness.heartbeat(id, 0);
  t.deepEqual(liveness.expired(100), [3, 5, 9]);
  t.deepEqual(liveness.expired(200), [3, 5, 9]);
  liveness.forget(5);
  t.deepEqual(liveness.expired(200), [3, 9]);
  t.is(liveness.lastHeartbeat(5), undefined);
});

test('reset after a controller failover gives every known broker a full session from the takeover', (t) => {
  // The old leader saw broker 2 last at 0; the new leader takes over at 5000 and knows nothing.
  const oldLeader = new BrokerLiveness({ sessionTimeoutMs: 1000 });
  oldLeader.heartbeat(1, 4900);
  oldLeader.heartbeat(2, 0);
  t.deepEqual(oldLeader.expired(5000), [2]);

  const newLeader = new BrokerLiveness({ sessionTimeoutMs: 1000 });
  newLeader.heartbeat(7, 100);
  newLeader.reset([1, 2, 3], 5000);
  t.deepEqual(newLeader.expired(5000), [], 'nobody is fenced at takeover');
  t.deepEqual(newLeader.expired(6000), [], 'a full session');
  t.is(newLeader.lastHeartbeat(7), undefined, 'brokers not listed are forgotten');
  newLeader.heartbeat(1, 5500);
  t.deepEqual(newLeader.expired(6001), [2, 3], 'those that stay silent expire a session after the takeover');
});

test('the session timeout must be a positive number', (t) => {
  t.throws(() => new BrokerLiveness({ sessionTimeoutMs: 0 }));
  t.throws(() => new BrokerLiveness({ sessionTimeoutMs: Number.NaN }));
});
