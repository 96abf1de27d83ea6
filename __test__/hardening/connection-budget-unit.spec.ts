/**
 * ConnectionBudget accounting without sockets: bytes held park connections past the cap and wake
 * them (oldest first, only while there is room) as bytes are released; per-address limits.
 */
import test from 'ava';
import { pino } from 'pino';
import { type BudgetMember, ConnectionBudget } from '../../src/broker/connection-budget.js';

function member(ip: string, woken: string[], name: string): BudgetMember {
  return {
    remoteIp: ip,
    resumeFromBudget: () => woken.push(name),
    overdue: () => null,
    close: () => undefined,
  };
}

const limits = {
  queuedMaxRequestBytes: 100,
  maxConnections: 3,
  maxConnectionsPerIp: 2,
  idleTimeoutMs: 60_000,
  requestReadTimeoutMs: 60_000,
};

test('past the cap members park; released bytes wake them in order while there is room', (t) => {
  const budget = new ConnectionBudget(limits, pino({ level: 'silent' }));
  const woken: string[] = [];
  const a = member('10.0.0.1', woken, 'a');
  const b = member('10.0.0.2', woken, 'b');
  budget.join(a);
  budget.join(b);
  budget.hold(60);
  t.false(budget.exhausted);
  budget.hold(50);
  t.true(budget.exhausted);
  budget.park(a);
  budget.park(b);
  budget.release(5); // 105: still full, nobody wakes
  t.deepEqual(woken, []);
  budget.release(10); // 95: room again
  t.deepEqual(woken, ['a', 'b']);
  t.is(budget.stats().peakHeldBytes, 110);
  t.is(budget.stats().backPressureEvents, 1);
  budget.leave(a);
  budget.leave(b);
  budget.close();
});

test('a woken member that fills the budget again leaves the others parked for the next release', (t) => {
  const budget = new ConnectionBudget(limits, pino({ level: 'silent' }));
  const woken: string[] = [];
  const refill: BudgetMember = {
    remoteIp: '10.0.0.3',
    resumeFromBudget: () => {
      woken.push('refill');
      budget.hold(20);
    },
    overdue: () => null,
    close: () => undefined,
  };
  const other = member('10.0.0.4', woken, 'other');
  budget.join(refill);
  budget.join(other);
  budget.hold(100);
  budget.park(refill);
  budget.park(other);
  budget.release(10); // 90, refill takes 20 -> 110: other stays parked
  t.deepEqual(woken, ['refill']);
  budget.release(30); // 80
  t.deepEqual(woken, ['refill', 'other']);
  budget.close();
});

test('max_connections_per_ip and max_connections refuse past their limits and count refusals', (t) => {
  const budget = new ConnectionBudget(limits, pino({ level: 'silent' }));
  const woken: string[] = [];
  t.true(budget.admit('10.0.0.9'));
  budget.join(member('10.0.0.9', woken, '1'));
  t.true(budget.admit('10.0.0.9'));
  budget.join(member('10.0.0.9', woken, '2'));
  t.false(budget.admit('10.0.0.9'), 'per address');
  t.true(budget.admit('10.0.0.8'));
  budget.join(member('10.0.0.8', woken, '3'));
  t.false(budget.admit('10.0.0.7'), 'overall');
  t.is(budget.stats().refusedConnections, 2);
  t.is(budget.stats().openConnections, 3);
  budget.close();
});
