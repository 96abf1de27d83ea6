/** Builders shared by the controller specs. */
import type { BrokerInfo, ControllerRecord } from '../../src/controller/index.js';

/** A valid, deterministic topic id (UUID) for test number `n` (n >= 1). */
export function topicId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** An applied broker as the planners see it (no rack, live, not leaving unless told). */
export function brokerInfo(
  brokerId: number,
  options: { fenced?: boolean; rack?: string; leaving?: boolean } = {},
): BrokerInfo {
  return {
    brokerId,
    raft: { host: 'h', port: 1 },
    client: { host: 'h', port: 2 },
    rack: options.rack ?? null,
    incarnationId: 'i',
    fenced: options.fenced ?? false,
    decommissioning: options.leaving ?? false,
  };
}

export function registerBroker(
  brokerId: number,
  options: { rack?: string | null; incarnationId?: string } = {},
): Extract<ControllerRecord, { type: 'register-broker' }> {
  return {
    type: 'register-broker',
    brokerId,
    raft: { host: '127.0.0.1', port: 7000 + brokerId },
    client: { host: '127.0.0.1', port: 9000 + brokerId },
    rack: options.rack ?? null,
    incarnationId: options.incarnationId ?? `incarnation-${brokerId}`,
  };
}

/** One record of every type, with values that exercise each field. */
export const SAMPLE_RECORDS: ControllerRecord[] = [
  { type: 'init-cluster', clusterId: 'b7c1c0b4-1c1f-4c55-9d4f-3a1c8f1f2a10' },
  registerBroker(1, { rack: 'rack-a' }),
  { ...registerBroker(2), raft: { host: 'broker-2.example', port: 0 } },
  { type: 'fence-broker', brokerId: 3 },
  { type: 'unfence-broker', brokerId: 0 },
  {
    type: 'create-topic',
    name: 'orders.v1_eu-west',
    topicId: topicId(1),
    configs: { 'retention.ms': '86400000', 'cleanup.policy': 'delete', 'empty.value': '' },
    replicationFactor: 3,
    partitions: [
      { groupId: 1, replicas: [1, 2, 3] },
      { groupId: 2, replicas: [2, 3, 1] },
    ],
  },
  { type: 'delete-topic', topicId: topicId(2) },
  {
    type: 'create-partitions',
    topicId: topicId(1),
    partitions: [{ groupId: 7, replicas: [3, 1, 2] }],
    byOperator: true,
  },
  {
    type: 'alter-configs',
    resource: 'topic',
    name: 'orders',
    configs: { 'retention.ms': '1', 'segment.ms': null },
  },
  { type: 'alter-configs', resource: 'broker', name: '', configs: { 'log.retention.ms': '5' } },
  { type: 'alter-configs', resource: 'broker', name: '2', configs: {} },
  { type: 'producer-id-block', brokerId: 1, firstProducerId: 2 ** 40, size: 1000 },
  { type: 'partition-replicas', groupId: 1, replicas: [1, 2, 4], learners: [5] },
  {
    type: 'partition-leaders',
    leaders: [
      { groupId: 1, leader: 2, leaderEpoch: 7 },
      { groupId: 2, leader: -1, leaderEpoch: -1 },
    ],
  },
  { type: 'preferred-leader', groupId: 2, preferred: 3 },
  { type: 'partition-reassignment', groupId: 1, target: [1, 2, 5], byOperator: true },
  { type: 'partition-reassignment', groupId: 1, target: [] },
  { type: 'broker-decommission', brokerId: 3, decommissioning: true },
];
