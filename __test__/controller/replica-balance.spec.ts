/** Replica balancing onto brokers that hold less than their share (src/controller/balancer.ts). */
import test from 'ava';
import type { BrokerInfo, PartitionInfo } from '../../src/controller/index.js';
import { planReplicaBalance } from '../../src/controller/index.js';
import { Prng } from '../../src/lib/prng.js';
import { brokerInfo } from './fixtures.js';

const broker = brokerInfo;

function partition(groupId: number, replicas: number[], extra: Partial<PartitionInfo> = {}): PartitionInfo {
  return {
    topicId: '00000000-0000-4000-8000-000000000001',
    topic: 't',
    partition: groupId - 1,
    groupId,
    replicas,
    learners: [],
    preferredLeader: replicas[0]!,
    leader: replicas[0]!,
    leaderEpoch: 1,
    targetReplicas: [],
    ...extra,
  };
}

/** 6 partitions at RF 2 over brokers 1-3 (4 replicas each), as the assignment places them. */
function sixOnThree(): PartitionInfo[] {
  return [
    partition(1, [1, 2]),
    partition(2, [2, 3]),
    partition(3, [3, 1]),
    partition(4, [1, 3]),
    partition(5, [2, 1]),
    partition(6, [3, 2]),
  ];
}

/** Each move completed: the target becomes the replicas (what the move steps end in). */
function complete(
  partitions: PartitionInfo[],
  moves: Array<{ groupId: number; target: number[] }>,
): PartitionInfo[] {
  return partitions.map((item) => {
    const move = moves.find((entry) => entry.groupId === item.groupId);
    return move === undefined
      ? item
      : { ...item, replicas: move.target, preferredLeader: move.target[0]!, leader: move.target[0]! };
  });
}

function counts(brokers: BrokerInfo[], partitions: PartitionInfo[]): number[] {
  return brokers.map(({ brokerId }) => partitions.filter((item) => item.replicas.includes(brokerId)).length);
}

test('a joined empty broker receives its share (3 of 12 replicas) and then nothing more moves', (t) => {
  const brokers = [broker(1), broker(2), broker(3), broker(4)];
  const moves = planReplicaBalance({
    brokers,
    partitions: sixOnThree(),
    imbalancePercent: 10,
    maxMovesInFlight: 8,
  });
  t.is(moves.length, 3);
  for (const move of moves) t.true(move.target.includes(4));
  const after = complete(sixOnThree(), moves);
  t.deepEqual(counts(brokers, after), [3, 3, 3, 3]);
  // Every partition still has two distinct replicas.
  for (const item of after) t.is(new Set(item.replicas).size, 2);
  t.deepEqual(
    planReplicaBalance({ brokers, partitions: after, imbalancePercent: 0, maxMovesInFlight: 8 }),
    [],
  );
});

test('moves in flight count against the bound and as done; the source it does not lead moves first', (t) => {
  const brokers = [broker(1), broker(2), broker(3), broker(4)];
  const one = planReplicaBalance({
    brokers,
    partitions: sixOnThree(),
    imbalancePercent: 10,
    maxMovesInFlight: 1,
  });
  t.is(one.length, 1);
  const moved = sixOnThree().find((item) => item.groupId === one[0]!.groupId)!;
  const leaving = moved.replicas.find((id) => !one[0]!.target.includes(id))!;
  t.not(moved.leader, leaving, 'a follower replica moves rather than the leader');
  // That move in flight: with a bound of 1 nothing more starts; with 8, two more, not on it.
  const inFlight = sixOnThree().map((item) =>
    item.groupId === one[0]!.groupId ? { ...item, targetReplicas: one[0]!.target } : item,
  );
  t.deepEqual(
    planReplicaBalance({ brokers, partitions: inFlight, imbalancePercent: 10, maxMovesInFlight: 1 }),
    [],
  );
  const more = planReplicaBalance({
    brokers,
    partitions: inFlight,
    imbalancePercent: 10,
    maxMovesInFlight: 8,
  });
  t.is(more.length, 2);
  t.false(more.some((move) => move.groupId === one[0]!.groupId));
});

test('never onto a fenced or leaving broker; nothing while a replica sits on a fenced broker', (t) => {
  for (const absent of [broker(4, { fenced: true }), broker(4, { leaving: true })])
    t.deepEqual(
      planReplicaBalance({
        brokers: [broker(1), broker(2), broker(3), absent],
        partitions: sixOnThree(),
        imbalancePercent: 10,
        maxMovesInFlight: 8,
      }),
      [],
    );
  // Broker 3 fenced with replicas on it: re-replication's turn, not balancing's.
  t.deepEqual(
    planReplicaBalance({
      brokers: [broker(1), broker(2), broker(3, { fenced: true }), broker(4)],
      partitions: sixOnThree(),
      imbalancePercent: 10,
      maxMovesInFlight: 8,
    }),
    [],
  );
});

test('within the threshold nothing moves; a one-replica difference never moves', (t) => {
  const brokers = [broker(1), broker(2)];
  // 21 and 19 replicas: share 20, threshold 10 % → 18..22.
  const partitions = Array.from({ length: 40 }, (_, index) => partition(index + 1, [index < 21 ? 1 : 2]));
  t.deepEqual(planReplicaBalance({ brokers, partitions, imbalancePercent: 10, maxMovesInFlight: 8 }), []);
  t.is(planReplicaBalance({ brokers, partitions, imbalancePercent: 0, maxMovesInFlight: 8 }).length, 1);
  const odd = Array.from({ length: 3 }, (_, index) => partition(index + 1, [index < 2 ? 1 : 2]));
  t.deepEqual(planReplicaBalance({ brokers, partitions: odd, imbalancePercent: 0, maxMovesInFlight: 8 }), []);
});

test('a move never puts two replicas of a partition on fewer racks than before', (t) => {
  // Racks a, b and a new broker 3 on rack a: partitions on [1 (a), 2 (b)] cannot lose rack b.
  const brokers = [broker(1, { rack: 'a' }), broker(2, { rack: 'b' }), broker(3, { rack: 'a' })];
  const partitions = Array.from({ length: 6 }, (_, index) =>
    partition(index + 1, index % 2 ? [1, 2] : [2, 1]),
  );
  const moves = planReplicaBalance({ brokers, partitions, imbalancePercent: 10, maxMovesInFlight: 8 });
  t.true(moves.length > 0);
  for (const move of moves) {
    t.true(move.target.includes(3));
    t.true(move.target.includes(2), 'rack b keeps its replica; only rack a replicas go to broker 3');
  }
});

test('the replica that moves is the one that evens bytes best', (t) => {
  const brokers = [broker(1), broker(2)];
  const partitions = [partition(1, [1]), partition(2, [1]), partition(3, [1]), partition(4, [1])];
  const bytes = new Map([
    [1, 100],
    [2, 1000],
    [3, 10],
    [4, 4000],
  ]);
  const moves = planReplicaBalance({
    brokers,
    partitions,
    imbalancePercent: 10,
    maxMovesInFlight: 1,
    partitionBytes: bytes,
  });
  // 5,110 bytes on broker 1, none on 2: group 4 (4,000) leaves them 2,890 apart, group 2
  // (1,000) 3,110, the others more.
  t.deepEqual(moves, [{ groupId: 4, target: [2] }]);
});

test('random clusters: balancing ends (a fixed point) within the threshold or one replica apart', (t) => {
  for (let seed = 1; seed <= 200; seed++) {
    const prng = new Prng(seed);
    const random = { nextInt: (below: number) => Math.floor(prng.nextFloat() * below) };
    const brokerCount = 2 + random.nextInt(6);
    const racks = random.nextInt(2) === 0 ? 0 : 1 + random.nextInt(3);
    const brokers = Array.from({ length: brokerCount }, (_, index) =>
      broker(index + 1, racks === 0 ? {} : { rack: `r${index % racks}` }),
    );
    // Everything starts on a prefix of the brokers (the rest joined later).
    const old = 1 + random.nextInt(brokerCount);
    const replicationFactor = 1 + random.nextInt(old);
    let partitions = Array.from({ length: random.nextInt(40) }, (_, index) =>
      partition(
        index + 1,
        Array.from({ length: replicationFactor }, (_, position) => ((index + position) % old) + 1),
      ),
    );
    const imbalancePercent = random.nextInt(30);
    let rounds = 0;
    for (;;) {
      const moves = planReplicaBalance({ brokers, partitions, imbalancePercent, maxMovesInFlight: 3 });
      if (moves.length === 0) break;
      partitions = complete(partitions, moves);
      rounds++;
      t.true(rounds < 1000, `seed ${seed} ends`);
      if (rounds >= 1000) return;
    }
    const held = counts(brokers, partitions);
    for (const item of partitions) t.is(new Set(item.replicas).size, replicationFactor, `seed ${seed}`);
    if (racks === 0) {
      const share = held.reduce((a, b) => a + b, 0) / brokerCount;
      const spread = Math.max(...held) - Math.min(...held);
      const inside = held.every(
        (value) =>
          value <= share * (1 + imbalancePercent / 100) && value >= share * (1 - imbalancePercent / 100),
      );
      t.true(spread <= 1 || inside, `seed ${seed}: ${held} share ${share}`);
    }
  }
});
