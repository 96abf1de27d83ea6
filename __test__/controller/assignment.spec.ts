/**
 * Replica assignment: counts spread evenly, racks respected, leaders rotated, existing load taken
 * into account, and impossible replication factors refused.
 */
import test from 'ava';
import { type AssignmentBroker, AssignmentError, assignReplicas } from '../../src/controller/index.js';
import { Prng } from '../../src/lib/prng.js';

function brokers(count: number, rackOf: (id: number) => string | null = () => null): AssignmentBroker[] {
  return Array.from({ length: count }, (_, index) => ({
    brokerId: index + 1,
    rack: rackOf(index + 1),
    replicaCount: 0,
    leaderCount: 0,
  }));
}

/** Replicas and preferred leaderships per broker id. */
function tally(assignment: number[][]): { replicas: Map<number, number>; leaders: Map<number, number> } {
  const replicas = new Map<number, number>();
  const leaders = new Map<number, number>();
  for (const list of assignment) {
    for (const id of list) replicas.set(id, (replicas.get(id) ?? 0) + 1);
    leaders.set(list[0]!, (leaders.get(list[0]!) ?? 0) + 1);
  }
  return { replicas, leaders };
}

function spread(counts: Map<number, number>, ids: number[]): number {
  const values = ids.map((id) => counts.get(id) ?? 0);
  return Math.max(...values) - Math.min(...values);
}

test('3 brokers, 30 partitions, RF 3: every broker holds 30 replicas and leads 10', (t) => {
  const assignment = assignReplicas({
    brokers: brokers(3),
    partitionCount: 30,
    replicationFactor: 3,
    seed: 0,
  });
  t.is(assignment.length, 30);
  for (const list of assignment) t.deepEqual([...list].sort(), [1, 2, 3]);
  const { replicas, leaders } = tally(assignment);
  t.deepEqual([...replicas.entries()].sort(), [
    [1, 30],
    [2, 30],
    [3, 30],
  ]);
  t.deepEqual([...leaders.entries()].sort(), [
    [1, 10],
    [2, 10],
    [3, 10],
  ]);
});

test('6 brokers in 3 racks, RF 3: every partition spans the 3 racks; replicas and leaders spread evenly', (t) => {
  const rackOf = (id: number): string => `rack-${id % 3}`;
  const assignment = assignReplicas({
    brokers: brokers(6, rackOf),
    partitionCount: 60,
    replicationFactor: 3,
    seed: 5,
  });
  for (const list of assignment) t.is(new Set(list.map(rackOf)).size, 3, `partition ${list} spans 3 racks`);
  const { replicas, leaders } = tally(assignment);
  for (let id = 1; id <= 6; id++) {
    t.is(replicas.get(id), 30, `broker ${id} replicas`);
    t.is(leaders.get(id), 10, `broker ${id} leaders`);
  }
});

test('with fewer racks than replicas, a partition uses every rack before it doubles up on one', (t) => {
  const rackOf = (id: number): string => (id <= 3 ? 'a' : 'b');
  const assignment = assignReplicas({
    brokers: brokers(6, rackOf),
    partitionCount: 12,
    replicationFactor: 3,
    seed: 0,
  });
  for (const list of assignment) {
    const racks = list.map(rackOf);
    t.true(racks.includes('a') && racks.includes('b'), `${list} uses both racks`);
  }
});

test('a broker alone on its rack gets a replica of every partition when RF equals the rack count', (t) => {
  const rackOf = (id: number): string => (id === 1 ? 'small' : 'big');
  const assignment = assignReplicas({
    brokers: brokers(4, rackOf),
    partitionCount: 9,
    replicationFactor: 2,
    seed: 0,
  });
  for (const list of assignment) t.true(list.includes(1), `${list} includes broker 1`);
});

test('a cluster where some brokers have no rack is assigned without racks (and still evenly)', (t) => {
  const rackOf = (id: number): string | null => (id === 2 ? null : 'same-rack');
  const assignment = assignReplicas({
    brokers: brokers(4, rackOf),
    partitionCount: 8,
    replicationFactor: 2,
    seed: 0,
  });
  const { replicas, leaders } = tally(assignment);
  t.is(spread(replicas, [1, 2, 3, 4]), 0);
  t.is(spread(leaders, [1, 2, 3, 4]), 0);
});

test('replication factor above the broker count, or below 1, throws INVALID_REPLICATION_FACTOR', (t) => {
  for (const replicationFactor of [4, 0, -1, 1.5]) {
    const error = t.throws<AssignmentError>(
      () => assignReplicas({ brokers: brokers(3), partitionCount: 1, replicationFactor, seed: 0 }),
      { instanceOf: AssignmentError },
    );
    t.is(error?.errorName, 'INVALID_REPLICATION_FACTOR');
  }
  const none = t.throws<AssignmentError>(
    () => assignReplicas({ brokers: [], partitionCount: 1, replicationFactor: 1, seed: 0 }),
    { instanceOf: AssignmentError },
  );
  t.is(none?.errorName, 'INVALID_REPLICATION_FACTOR');
  t.throws(() => assignReplicas({ brokers: brokers(3), partitionCount: -1, replicationFactor: 1, seed: 0 }), {
    instanceOf: AssignmentError,
  });
  t.deepEqual(assignReplicas({ brokers: brokers(3), partitionCount: 0, replicationFactor: 3, seed: 0 }), []);
});

test('existing load is taken into account: new leaders go to brokers that lead less, new replicas to brokers that hold fewer', (t) => {
  const loaded = brokers(3);
  loaded[0] = { ...loaded[0]!, replicaCount: 6, leaderCount: 3 };
  const leaders = tally(
    assignReplicas({ brokers: loaded, partitionCount: 6, replicationFactor: 1, seed: 0 }),
  ).leaders;
  t.deepEqual(
    [leaders.get(1) ?? 0, leaders.get(2), leaders.get(3)],
    [0, 3, 3],
    'totals end at 3 leaders each',
  );

  const busy = brokers(4);
  busy[0] = { ...busy[0]!, replicaCount: 10 };
  const assignment = assignReplicas({ brokers: busy, partitionCount: 4, replicationFactor: 2, seed: 0 });
  for (const list of assignment) t.false(list.includes(1), `${list} avoids the busy broker`);
  t.is(spread(tally(assignment).replicas, [2, 3, 4]), 1);
});

test('the preferred leader rotates with the seed when loads are equal; the same input gives the same output', (t) => {
  const first = (seed: number): number =>
    assignReplicas({ brokers: brokers(5), partitionCount: 1, replicationFactor: 3, seed })[0]![0]!;
  t.deepEqual([0, 1, 2, 3, 4, 5, -1].map(first), [1, 2, 3, 4, 5, 1, 5]);
  const input = {
    brokers: brokers(5, (id) => `r${id % 2}`),
    partitionCount: 20,
    replicationFactor: 3,
    seed: 77,
  };
  t.deepEqual(assignReplicas(input), assignReplicas(input));
  t.notDeepEqual(assignReplicas(input), assignReplicas({ ...input, seed: 78 }));
});

test('the input order of brokers does not change the assignment', (t) => {
  const input = {
    brokers: brokers(5, (id) => `r${id % 3}`),
    partitionCount: 12,
    replicationFactor: 3,
    seed: 3,
  };
  t.deepEqual(assignReplicas({ ...input, brokers: [...input.brokers].reverse() }), assignReplicas(input));
});

test('sweep without racks: every partition has RF distinct brokers; replicas and leaders end within one of even', (t) => {
  for (let count = 1; count <= 9; count++) {
    const ids = Array.from({ length: count }, (_, index) => index + 1);
    for (let replicationFactor = 1; replicationFactor <= count; replicationFactor++) {
      for (let partitionCount = 0; partitionCount <= 50; partitionCount++) {
        const seed = count * 31 + partitionCount;
        const assignment = assignReplicas({
          brokers: brokers(count),
          partitionCount,
          replicationFactor,
          seed,
        });
        const label = `${count} brokers, RF ${replicationFactor}, ${partitionCount} partitions`;
        if (assignment.length !== partitionCount) return t.fail(label);
        for (const list of assignment) {
          if (new Set(list).size !== replicationFactor || list.some((id) => !ids.includes(id))) {
            return t.fail(`${label}: bad replica list ${list}`);
          }
        }
        const { replicas, leaders } = tally(assignment);
        if (spread(replicas, ids) > 1 || spread(leaders, ids) > 1) return t.fail(`${label}: uneven`);
      }
    }
  }
  t.pass();
});

test('sweep with 2-4 equal racks: no rack twice in a partition; replicas and leaders end within one of even', (t) => {
  for (let rackCount = 2; rackCount <= 4; rackCount++) {
    for (let perRack = 1; perRack <= 3; perRack++) {
      const rackOf = (id: number): string => `rack-${id % rackCount}`;
      const ids = Array.from({ length: rackCount * perRack }, (_, index) => index + 1);
      for (let replicationFactor = 1; replicationFactor <= rackCount; replicationFactor++) {
        for (let partitionCount = 1; partitionCount <= 40; partitionCount++) {
          const assignment = assignReplicas({
            brokers: brokers(ids.length, rackOf),
            partitionCount,
            replicationFactor,
            seed: partitionCount,
          });
          const label = `${rackCount} racks x ${perRack}, RF ${replicationFactor}, ${partitionCount} partitions`;
          for (const list of assignment) {
            if (new Set(list.map(rackOf)).size !== replicationFactor)
              return t.fail(`${label}: ${list} repeats a rack`);
          }
          const { replicas, leaders } = tally(assignment);
          if (spread(replicas, ids) > 1 || spread(leaders, ids) > 1) return t.fail(`${label}: uneven`);
        }
      }
    }
  }
  t.pass();
});

test('random existing loads and racks (seeded): every list has RF distinct given brokers and no repeated rack while racks remain', (t) => {
  const prng = new Prng(4242);
  for (let round = 0; round < 500; round++) {
    const count = prng.int(1, 10);
    const racked = prng.chance(0.7);
    const input = {
      brokers: Array.from({ length: count }, (_, index) => ({
        brokerId: index * 3 + prng.int(0, 2),
        rack: racked ? `r${prng.int(0, 3)}` : null,
        replicaCount: prng.int(0, 30),
        leaderCount: prng.int(0, 10),
      })),
      partitionCount: prng.int(0, 30),
      replicationFactor: prng.int(1, count),
      seed: prng.int(-1000, 1000),
    };
    const ids = input.brokers.map((broker) => broker.brokerId);
    const rackOf = new Map(input.brokers.map((broker) => [broker.brokerId, broker.rack]));
    const rackCount = new Set(rackOf.values()).size;
    const assignment = assignReplicas(input);
    if (assignment.length !== input.partitionCount) return t.fail(`round ${round}: partition count`);
    for (const list of assignment) {
      if (list.length !== input.replicationFactor || new Set(list).size !== list.length) {
        return t.fail(`round ${round}: ${list}`);
      }
      if (list.some((id) => !ids.includes(id))) return t.fail(`round ${round}: unknown broker in ${list}`);
      const racksUsed = new Set(list.map((id) => rackOf.get(id))).size;
      if (racked && racksUsed !== Math.min(rackCount, list.length)) {
        return t.fail(`round ${round}: ${list} doubles up on a rack while another remains`);
      }
    }
  }
  t.pass();
});
