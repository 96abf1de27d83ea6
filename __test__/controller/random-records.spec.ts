/**
 * Random record sequences (seeded; CONTROLLER_SEED=n replays one): after every record the state's
 * invariants hold, a refused record changes nothing, monotonic values never go back, the codec
 * round-trips the record and gives the same verdict, and a replica restored from a snapshot
 * midway ends byte-identical to one that applied every record.
 */
import test from 'ava';
import {
  type ControllerRecordType,
  ControllerState,
  decodeRecord,
  encodeRecord,
} from '../../src/controller/index.js';
import { Prng } from '../../src/lib/prng.js';
import { RecordGenerator } from './random-records.js';

const SEEDS = process.env.CONTROLLER_SEED ? [Number(process.env.CONTROLLER_SEED)] : [1, 2, 3, 4, 5, 6, 7, 8];
const RECORDS_PER_SEED = 600;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

for (const seed of SEEDS) {
  test(`seed ${seed}: random records keep every invariant, and a snapshot midway changes nothing`, (t) => {
    const prng = new Prng(seed);
    const generator = new RecordGenerator(prng);
    const primary = ControllerState.empty();
    let replica = ControllerState.empty();
    const snapshotAt = prng.int(RECORDS_PER_SEED / 4, (3 * RECORDS_PER_SEED) / 4);
    const applied = new Map<ControllerRecordType, number>();
    const refused = new Map<ControllerRecordType, number>();
    const epochs = new Map<number, number>();
    const deleted = new Set<string>();
    let mostTopics = 0;

    for (let step = 0; step < RECORDS_PER_SEED; step++) {
      const record = generator.next(primary);
      const context = `seed ${seed} step ${step}: ${JSON.stringify(record)}`;
      const before = primary.encodeSnapshot();
      const nextGroupId = primary.nextGroupId;
      const nextProducerId = primary.nextProducerId;

      const result = primary.apply(record);
      const problem = primary.invariantProblem();
      if (problem !== null) {
        t.fail(`${context}: ${problem}`);
        return;
      }
      const tally = result.ok ? applied : refused;
      tally.set(record.type, (tally.get(record.type) ?? 0) + 1);
      if (!result.ok && !sameBytes(primary.encodeSnapshot(), before)) {
        t.fail(`${context}: refused (${result.errorName}) yet changed the state`);
        return;
      }
      if (primary.nextGroupId < nextGroupId || primary.nextProducerId < nextProducerId) {
        t.fail(`${context}: an id counter went back`);
        return;
      }
      for (const topic of primary.topics()) {
        if (deleted.has(topic.topicId)) {
          t.fail(`${context}: deleted topic id ${topic.topicId} is live again`);
          return;
        }
        for (const partition of topic.partitions) {
          if (partition.leaderEpoch < (epochs.get(partition.groupId) ?? -1)) {
            t.fail(`${context}: group ${partition.groupId} leader epoch went back`);
            return;
          }
          epochs.set(partition.groupId, partition.leaderEpoch);
        }
      }
      for (const topicId of primary.deletedTopicIds()) deleted.add(topicId);
      mostTopics = Math.max(mostTopics, primary.topics().length);

      // The replica gets the record through the codec, as a broker applying the log does.
      const decoded = decodeRecord(encodeRecord(record));
      const replicaResult = replica.apply(decoded);
      if (JSON.stringify(replicaResult) !== JSON.stringify(result)) {
        t.fail(
          `${context}: the replica answered ${JSON.stringify(replicaResult)}, not ${JSON.stringify(result)}`,
        );
        return;
      }
      if (step === snapshotAt) replica = ControllerState.decodeSnapshot(replica.encodeSnapshot());
    }

    t.true(sameBytes(replica.encodeSnapshot(), primary.encodeSnapshot()), 'identical snapshot bytes');
    t.deepEqual(replica.topics(), primary.topics());
    t.deepEqual(replica.brokers(), primary.brokers());
    // The run exercised every record type, both applied and (where possible) refused.
    const types: ControllerRecordType[] = [
      'init-cluster',
      'register-broker',
      'fence-broker',
      'create-topic',
      'delete-topic',
      'create-partitions',
      'alter-configs',
      'producer-id-block',
      'partition-replicas',
      'partition-leaders',
      'preferred-leader',
    ];
    for (const type of types) t.true((applied.get(type) ?? 0) > 0, `some ${type} applied`);
    for (const type of types.filter((type) => type !== 'register-broker' && type !== 'partition-leaders')) {
      t.true((refused.get(type) ?? 0) > 0, `some ${type} refused`);
    }
    t.true(mostTopics >= 3, `the state grew several topics (${mostTopics})`);
  });
}
