/** Leader balancing (src/controller/balancer.ts). */
import test from 'ava';
import type { BrokerInfo, PartitionInfo } from '../../src/controller/index.js';
import { leaderCounts, planLeaderTransfers } from '../../src/controller/index.js';

function broker(brokerId: number, fenced = false): BrokerInfo {
  return {
    brokerId,
    raft: { host: 'h', port: 1 },
    client: { host: 'h', port: 2 },
    rack: null,
    incarnationId: 'i',
    fenced,
    decommissioning: false,
  };
}

/** 9 partitions over 3 brokers, preferred leaders 1,2,3 in turn; `leaders` is who leads each. */
function partitions(leaders: number[]): PartitionInfo[] {
  return leaders.map((leader, index) => {
    const preferred = (index % 3) + 1;
    return {
      topicId: '00000000-0000-4000-8000-000000000001',
      topic: 't',
      partition: index,
      groupId: index + 1,
      replicas: [preferred, (preferred % 3) + 1, ((preferred + 1) % 3) + 1],
      learners: [],
      preferredLeader: preferred,
      leader,
      leaderEpoch: 3,
      targetReplicas: [],
    };
  });
}

test('a broker that took over the leadership of a restarted one hands it back to the preferred replicas', (t) => {
  // Broker 3 restarted: brokers 1 and 2 took its three partitions.
  const brokers = [broker(1), broker(2), broker(3)];
  const state = partitions([1, 2, 1, 1, 2, 2, 1, 2, 1]);
  t.deepEqual(
    [...leaderCounts(brokers, state)],
    [
      [1, 5],
      [2, 4],
      [3, 0],
    ],
  );
  const transfers = planLeaderTransfers({
    brokers,
    partitions: state,
    imbalancePercent: 10,
    maxTransfers: 16,
  });
  t.deepEqual(transfers, [
    { groupId: 3, from: 1, to: 3 },
    { groupId: 9, from: 1, to: 3 },
    { groupId: 6, from: 2, to: 3 },
  ]);
  // Applied, every partition follows its preferred leader: nothing more to do.
  const after = partitions([1, 2, 3, 1, 2, 3, 1, 2, 3]);
  t.deepEqual(
    planLeaderTransfers({ brokers, partitions: after, imbalancePercent: 10, maxTransfers: 16 }),
    [],
  );
  t.deepEqual(planLeaderTransfers({ brokers, partitions: after, imbalancePercent: 0, maxTransfers: 16 }), []);
});

test('no transfer to a fenced or unavailable preferred leader, none when balanced, bounded per round', (t) => {
  const state = partitions([1, 2, 1, 1, 2, 2, 1, 2, 1]);
  t.deepEqual(
    planLeaderTransfers({
      brokers: [broker(1), broker(2), broker(3, true)],
      partitions: state,
      imbalancePercent: 10,
      maxTransfers: 16,
    }),
    [],
  );
  t.deepEqual(
    planLeaderTransfers({
      brokers: [broker(1), broker(2), broker(3)],
      partitions: state,
      imbalancePercent: 10,
      maxTransfers: 16,
      unavailable: new Set([3]),
    }),
    [],
  );
  t.is(
    planLeaderTransfers({
      brokers: [broker(1), broker(2), broker(3)],
      partitions: state,
      imbalancePercent: 10,
      maxTransfers: 1,
    }).length,
    1,
  );
  const balanced = partitions([1, 2, 3, 1, 2, 3, 1, 2, 3]);
  t.deepEqual(
    planLeaderTransfers({
      brokers: [broker(1), broker(2), broker(3)],
      partitions: balanced,
      imbalancePercent: 0,
      maxTransfers: 16,
    }),
    [],
  );
});

test('everything on one broker after two restarts spreads back to one third each', (t) => {
  const brokers = [broker(1), broker(2), broker(3)];
  let state = partitions([1, 1, 1, 1, 1, 1, 1, 1, 1]);
  for (let round = 0; round < 5; round++) {
    const transfers = planLeaderTransfers({
      brokers,
      partitions: state,
      imbalancePercent: 10,
      maxTransfers: 16,
    });
    if (transfers.length === 0) break;
    state = state.map((partition) => {
      const transfer = transfers.find((item) => item.groupId === partition.groupId);
      return transfer === undefined ? partition : { ...partition, leader: transfer.to };
    });
  }
  t.deepEqual([...leaderCounts(brokers, state).values()], [3, 3, 3]);
});
