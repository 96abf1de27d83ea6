/**
 * A seeded generator of controller records against a state: mostly records that should apply,
 * mixed with ones that must be refused (taken names, stale group ids, unknown brokers, overlapping
 * producer-id blocks, stale leader epochs, ...).
 */
import type { ControllerRecord, ControllerState } from '../../src/controller/index.js';
import type { Prng } from '../../src/lib/prng.js';
import { registerBroker, topicId } from './fixtures.js';

const TOPIC_NAMES = ['orders', 'payments', 'audit.log', 'metrics_1', 'a-b', 'clicks', 'users', 'events'];
const CONFIG_NAMES = ['retention.ms', 'segment.bytes', 'cleanup.policy', 'x'];
const RACKS = ['r1', 'r2', 'r3'];

export class RecordGenerator {
  private nextTopicNumber = 1;

  constructor(private readonly prng: Prng) {}

  next(state: ControllerState): ControllerRecord {
    const prng = this.prng;
    const brokerIds = state.brokers().map((broker) => broker.brokerId);
    const someBroker = (): number =>
      brokerIds.length > 0 && prng.chance(0.8) ? prng.pick(brokerIds) : prng.int(0, 12);
    const topics = state.topics();
    const groups = topics.flatMap((topic) => topic.partitions);
    const someGroup = (): number =>
      groups.length > 0 && prng.chance(0.9) ? prng.pick(groups).groupId : prng.int(1, state.nextGroupId + 2);
    const someTopicId = (): string =>
      topics.length > 0 && prng.chance(0.85)
        ? prng.pick(topics).topicId
        : topicId(prng.int(1, this.nextTopicNumber));
    const replicaList = (count: number): number[] => {
      const pool = prng.chance(0.9) ? [...brokerIds] : [...brokerIds, prng.int(0, 12)];
      const list: number[] = [];
      while (list.length < count && pool.length > 0)
        list.push(pool.splice(prng.int(0, pool.length - 1), 1)[0]!);
      if (prng.chance(0.03) && list.length > 0) list.push(list[0]!);
      return list.length > 0 ? list : [prng.int(0, 9)];
    };
    const newPartitions = (count: number, replicationFactor: number) => {
      let groupId = prng.chance(0.9) ? state.nextGroupId : prng.int(1, state.nextGroupId + 1);
      return Array.from({ length: count }, () => ({
        groupId: prng.chance(0.97) ? groupId++ : groupId,
        replicas: replicaList(prng.chance(0.95) ? replicationFactor : replicationFactor + 1),
      }));
    };
    const configs = (allowNull: boolean): Record<string, string | null> => {
      const entries: Array<[string, string | null]> = [];
      for (const name of CONFIG_NAMES) {
        if (prng.chance(0.4))
          entries.push([name, allowNull && prng.chance(0.4) ? null : String(prng.int(0, 99))]);
      }
      return Object.fromEntries(entries);
    };

    switch (prng.int(0, 13)) {
      case 0:
        return { type: 'init-cluster', clusterId: prng.chance(0.8) ? 'cluster-1' : 'cluster-2' };
      case 1:
      case 2:
        return registerBroker(prng.int(0, 7), {
          rack: prng.chance(0.7) ? prng.pick(RACKS) : null,
          incarnationId: `i${prng.int(0, 3)}`,
        });
      case 3:
        return {
          type: prng.chance(0.5) ? 'fence-broker' : 'unfence-broker',
          // Registrations use ids 0..7: 8..12 are never registered.
          brokerId: prng.chance(0.2) ? prng.int(8, 12) : someBroker(),
        };
      case 4:
      case 5: {
        const replicationFactor = prng.int(1, 3);
        const reuseId = prng.chance(0.05) && this.nextTopicNumber > 1;
        return {
          type: 'create-topic',
          name: prng.chance(0.97) ? prng.pick(TOPIC_NAMES) : 'bad/name',
          topicId: topicId(reuseId ? prng.int(1, this.nextTopicNumber - 1) : this.nextTopicNumber++),
          configs: configs(false) as Record<string, string>,
          replicationFactor,
          partitions: newPartitions(prng.int(1, 4), replicationFactor),
        };
      }
      case 6:
        return { type: 'delete-topic', topicId: someTopicId() };
      case 7: {
        const id = someTopicId();
        const replicationFactor = state.topicById(id)?.replicationFactor ?? prng.int(1, 3);
        return {
          type: 'create-partitions',
          topicId: id,
          partitions: newPartitions(prng.int(1, 3), replicationFactor),
        };
      }
      case 8:
        return prng.chance(0.5)
          ? {
              type: 'alter-configs',
              resource: 'topic',
              name: topics.length > 0 && prng.chance(0.7) ? prng.pick(topics).name : 'no-such-topic',
              configs: configs(true),
            }
          : {
              type: 'alter-configs',
              resource: 'broker',
              name: prng.chance(0.5) ? '' : String(someBroker()),
              configs: configs(true),
            };
      case 9: {
        const next = state.nextProducerId;
        const firstProducerId = prng.chance(0.8) ? next : Math.max(0, next + prng.int(-5, 50));
        return {
          type: 'producer-id-block',
          brokerId: someBroker(),
          firstProducerId,
          size: prng.int(1, 1000),
        };
      }
      case 10: {
        const replicas = replicaList(prng.int(1, 3));
        const learners = prng.chance(0.3)
          ? replicaList(1).filter((id) => !replicas.includes(id) || prng.chance(0.1))
          : [];
        return { type: 'partition-replicas', groupId: someGroup(), replicas, learners };
      }
      case 11:
      case 12: {
        const leaders = Array.from({ length: prng.int(1, 4) }, () => {
          const groupId = someGroup();
          const partition = state.partitionByGroup(groupId);
          const known = partition?.leaderEpoch ?? -1;
          const leader =
            partition !== undefined && prng.chance(0.85) ? prng.pick(partition.replicas) : prng.int(-1, 9);
          return { groupId, leader, leaderEpoch: Math.max(-1, known + prng.int(-2, 3)) };
        });
        return { type: 'partition-leaders', leaders };
      }
      default: {
        const groupId = someGroup();
        const partition = state.partitionByGroup(groupId);
        const preferred =
          partition !== undefined && prng.chance(0.85) ? prng.pick(partition.replicas) : someBroker();
        return { type: 'preferred-leader', groupId, preferred };
      }
    }
  }
}
