/**
 * Checks a torture history against the promises goqueue makes, with the anomaly names of
 * Jepsen's Kafka analyses:
 *
 * - lost: a send acknowledged ok whose value the final (leader) reads do not hold.
 * - unexpected: a value read that no producer ever sent.
 * - duplicated: a value stored at two or more offsets; counted apart for idempotent producers
 *   (must be 0) and the others (a retried non-idempotent send may legitimately duplicate).
 * - inconsistent-offsets: one offset of one partition holding two different values, across every
 *   read (consumers, the final leader reads, every replica's log on disk) and every
 *   acknowledged offset.
 * - nonmonotonic-send: one producer's acknowledged offsets on one partition not increasing.
 * - nonmonotonic-poll: one assign consumer reading offsets of a partition not increasing.
 * - poll-skip: an assign consumer going from offset a to b while the final reads hold a record
 *   between them.
 * - committed-offsets-out-of-order: a group's committed offset of a partition moving backwards.
 * - replica-divergent: a replica's log on disk missing a record the final leader reads hold,
 *   after everything healed and settled (the replica never caught up).
 * - replica-corrupt: a replica's log on disk holding a batch that fails its CRC32C after the
 *   broker restarted and recovered (corruption that recovery did not cut).
 */
import { IDEMPOTENT_PREFIX, type Operation } from './history.js';

/** The final reads: partition → offset → value, from the leader after healing. */
export type PartitionContents = Map<number, Map<number, string>>;

export interface FinalReads {
  leader: PartitionContents;
  /** Broker id → that broker's partition logs on disk, read after it stopped. */
  replicas: Map<number, PartitionContents>;
  /** Broker id → batches of its logs failing their CRC32C (`partition:offset (why)`). */
  corruptBatches?: Map<number, string[]>;
}

export interface Anomaly {
  count: number;
  /** The first few, as readable objects. */
  examples: unknown[];
}

export const ANOMALY_NAMES = [
  'lost',
  'unexpected',
  'duplicated-idempotent',
  'duplicated-other',
  'inconsistent-offsets',
  'nonmonotonic-send',
  'nonmonotonic-poll',
  'poll-skip',
  'committed-offsets-out-of-order',
  'replica-divergent',
  'replica-corrupt',
] as const;
export type AnomalyName = (typeof ANOMALY_NAMES)[number];

export interface CheckResult {
  /** True when none of the anomalies that break a promise occurred (duplicated-other may). */
  valid: boolean;
  anomalies: Record<AnomalyName, Anomaly>;
  counts: {
    sendOk: number;
    sendInfo: number;
    sendFail: number;
    polls: number;
    recordsPolled: number;
    recordsInFinalReads: number;
  };
}

const EXAMPLES_MAX = 5;
/** Anomalies that do not make a run invalid: non-idempotent retries may duplicate. */
const TOLERATED: ReadonlySet<AnomalyName> = new Set(['duplicated-other']);

function newAnomalies(): Record<AnomalyName, Anomaly> {
  const anomalies = {} as Record<AnomalyName, Anomaly>;
  for (const name of ANOMALY_NAMES) anomalies[name] = { count: 0, examples: [] };
  return anomalies;
}

export function check(operations: readonly Operation[], final: FinalReads): CheckResult {
  const anomalies = newAnomalies();
  const note = (name: AnomalyName, example: unknown): void => {
    const anomaly = anomalies[name];
    anomaly.count++;
    if (anomaly.examples.length < EXAMPLES_MAX) anomaly.examples.push(example);
  };

  // Every observation of (partition, offset) → value, with who made it.
  const seenAt = new Map<string, Map<string, string[]>>();
  const observe = (partition: number, offset: number, value: string, who: string): void => {
    if (offset < 0) return;
    const key = `${partition}:${offset}`;
    let values = seenAt.get(key);
    if (values === undefined) {
      values = new Map();
      seenAt.set(key, values);
    }
    const whos = values.get(value) ?? [];
    if (whos.length < 3) whos.push(who);
    values.set(value, whos);
  };

  const invoked = new Set<string>();
  const acknowledged: Operation[] = [];
  const counts = { sendOk: 0, sendInfo: 0, sendFail: 0, polls: 0, recordsPolled: 0, recordsInFinalReads: 0 };
  for (const operation of operations) {
    if (operation.kind === 'send') {
      if (operation.type === 'invoke') invoked.add(operation.value as string);
      else if (operation.type === 'ok') {
        counts.sendOk++;
        acknowledged.push(operation);
        observe(
          operation.partition,
          operation.offset ?? -1,
          operation.value as string,
          `ack:${operation.process}`,
        );
      } else if (operation.type === 'info') counts.sendInfo++;
      else counts.sendFail++;
    } else if (operation.kind === 'poll' && operation.type === 'ok') {
      counts.polls++;
      for (const [offset, value] of operation.records ?? []) {
        counts.recordsPolled++;
        observe(operation.partition, offset, value, operation.process);
      }
    }
  }
  const finalOffsetsOf = new Map<string, Array<[number, number]>>();
  for (const [partition, contents] of final.leader)
    for (const [offset, value] of contents) {
      counts.recordsInFinalReads++;
      observe(partition, offset, value, 'final');
      const places = finalOffsetsOf.get(value) ?? [];
      places.push([partition, offset]);
      finalOffsetsOf.set(value, places);
    }
  for (const [brokerId, contents] of final.replicas)
    for (const [partition, records] of contents)
      for (const [offset, value] of records) observe(partition, offset, value, `disk:${brokerId}`);

  for (const [key, values] of seenAt) {
    if (values.size > 1) note('inconsistent-offsets', { at: key, values: Object.fromEntries(values) });
    for (const value of values.keys())
      if (!invoked.has(value)) note('unexpected', { at: key, value, readBy: values.get(value) });
  }

  for (const operation of acknowledged) {
    const value = operation.value as string;
    const places = finalOffsetsOf.get(value);
    if (places === undefined || !places.some(([partition]) => partition === operation.partition))
      note('lost', {
        value,
        partition: operation.partition,
        acknowledgedOffset: operation.offset,
        acknowledgedAtMs: operation.timeMs,
      });
  }
  for (const [value, places] of finalOffsetsOf)
    if (places.length > 1)
      note(value.startsWith(IDEMPOTENT_PREFIX) ? 'duplicated-idempotent' : 'duplicated-other', {
        value,
        at: places.map(([partition, offset]) => `${partition}:${offset}`),
      });

  checkSendOrder(acknowledged, (example) => note('nonmonotonic-send', example));
  checkPolls(operations, final.leader, note);
  checkCommittedOffsets(operations, (example) => note('committed-offsets-out-of-order', example));
  for (const [brokerId, contents] of final.replicas)
    for (const [partition, records] of contents) {
      const leader = final.leader.get(partition);
      if (leader === undefined) continue;
      for (const [offset, value] of leader)
        if (!records.has(offset))
          note('replica-divergent', { broker: brokerId, at: `${partition}:${offset}`, value });
    }

  for (const [brokerId, batches] of final.corruptBatches ?? new Map<number, string[]>())
    for (const batch of batches) note('replica-corrupt', { broker: brokerId, batch });

  const valid = ANOMALY_NAMES.every((name) => TOLERATED.has(name) || anomalies[name].count === 0);
  return { valid, anomalies, counts };
}

function checkSendOrder(acknowledged: readonly Operation[], note: (example: unknown) => void): void {
  const last = new Map<string, Operation>();
  for (const operation of acknowledged) {
    if ((operation.offset ?? -1) < 0) continue;
    const key = `${operation.process}/${operation.partition}`;
    const previous = last.get(key);
    if (previous !== undefined && (previous.offset as number) >= (operation.offset as number))
      note({
        process: operation.process,
        partition: operation.partition,
        previous: [previous.value, previous.offset],
        next: [operation.value, operation.offset],
      });
    last.set(key, operation);
  }
}

/** nonmonotonic-poll and poll-skip, for assign consumers (a group consumer may rewind on a rebalance). */
function checkPolls(
  operations: readonly Operation[],
  leader: PartitionContents,
  note: (name: AnomalyName, example: unknown) => void,
): void {
  const sortedOffsets = new Map<number, number[]>();
  for (const [partition, contents] of leader)
    sortedOffsets.set(
      partition,
      [...contents.keys()].sort((a, b) => a - b),
    );
  const last = new Map<string, number>();
  for (const operation of operations) {
    if (operation.kind !== 'poll' || operation.type !== 'ok' || !operation.process.startsWith('assign'))
      continue;
    const key = `${operation.process}/${operation.partition}`;
    for (const [offset] of operation.records ?? []) {
      const previous = last.get(key);
      if (previous !== undefined) {
        if (offset <= previous)
          note('nonmonotonic-poll', {
            process: operation.process,
            partition: operation.partition,
            previous,
            next: offset,
          });
        else {
          const between = firstBetween(sortedOffsets.get(operation.partition) ?? [], previous, offset);
          if (between !== undefined)
            note('poll-skip', {
              process: operation.process,
              partition: operation.partition,
              from: previous,
              to: offset,
              skipped: between,
            });
        }
      }
      last.set(key, offset);
    }
  }
}

/** The first element of sorted `offsets` strictly between `low` and `high`. */
function firstBetween(offsets: readonly number[], low: number, high: number): number | undefined {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((offsets[mid] as number) <= low) lo = mid + 1;
    else hi = mid;
  }
  const found = offsets[lo];
  return found !== undefined && found < high ? found : undefined;
}

function checkCommittedOffsets(operations: readonly Operation[], note: (example: unknown) => void): void {
  const last = new Map<string, number>();
  for (const operation of operations) {
    if (operation.kind !== 'committed-offset' || operation.type !== 'ok') continue;
    const key = `${operation.process}/${operation.partition}`;
    const offset = operation.offset as number;
    const previous = last.get(key);
    if (previous !== undefined && offset < previous)
      note({
        group: operation.process,
        partition: operation.partition,
        previous,
        next: offset,
        atMs: operation.timeMs,
      });
    if (offset >= 0) last.set(key, offset);
  }
}
