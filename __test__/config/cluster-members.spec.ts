import test from 'ava';
import {
  CONTROLLER_VOTERS_MAX,
  controllerLearners,
  controllerVoterCount,
  controllerVoters,
  electionTicks,
  normaliseInitialCluster,
} from '../../src/config/cluster-members.js';
import { defaultConfig, loadConfig } from '../../src/config/load.js';

/** A member list of `ids`, each on Raft port 7000 + id. */
function listOf(ids: number[]): string {
  return ids.map((id) => `${id}=127.0.0.1:${7000 + id}`).join(',');
}

test('the controller starts with 1, 3 or 5 voters: the largest odd count the list allows', (t) => {
  const counts = [0, 1, 2, 3, 4, 5, 6, 7, 9].map(controllerVoterCount);
  t.deepEqual(counts, [0, 1, 1, 3, 3, 5, 5, 5, 5]);
  t.is(CONTROLLER_VOTERS_MAX, 5);
});

test('voters are the lowest ids of initial_cluster whatever the order; the rest are learners', (t) => {
  const config = loadConfig({ flags: { brokerId: '7', initialCluster: listOf([7, 3, 1, 6, 2, 5, 4]) } });
  t.deepEqual(controllerVoters(config), [1, 2, 3, 4, 5]);
  t.deepEqual(controllerLearners(config), [6, 7]);
  const four = loadConfig({ flags: { brokerId: '4', initialCluster: listOf([10, 4, 20, 30]) } });
  t.deepEqual(controllerVoters(four), [4, 10, 20]);
  t.deepEqual(controllerLearners(four), [30]);
});

test('without initial_cluster the broker is a cluster of one: its own voter', (t) => {
  const config = loadConfig({ flags: { brokerId: 'broker9' } });
  t.deepEqual(controllerVoters(config), [9]);
  t.deepEqual(controllerLearners(config), []);
});

test('a joining broker has no founding voters: it learns the membership from the cluster', (t) => {
  const config = loadConfig({ flags: { brokerId: '4', join: '127.0.0.1:7001', raftAddr: '127.0.0.1:7004' } });
  t.deepEqual(controllerVoters(config), []);
  t.deepEqual(controllerLearners(config), []);
});

test('election ticks are the whole ticks in the election timeout', (t) => {
  t.is(electionTicks(defaultConfig()), 10);
  t.is(electionTicks(defaultConfig({ raftTickMs: 150 })), 6);
  t.is(electionTicks(defaultConfig({ raftTickMs: 10, electionTimeoutMs: 35 })), 3);
});

test('the normalised member list is sorted by id with lower-case hosts and bracketed IPv6', (t) => {
  const members = [
    { brokerId: 3, raftHost: '::1', raftPort: 7003 },
    { brokerId: 1, raftHost: 'Broker1.Example.com', raftPort: 7001 },
    { brokerId: 2, raftHost: '10.0.0.2', raftPort: 7002 },
  ];
  t.is(normaliseInitialCluster(members), '1=broker1.example.com:7001,2=10.0.0.2:7002,3=[::1]:7003');
  t.is(normaliseInitialCluster([]), '');
});
