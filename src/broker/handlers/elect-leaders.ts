import type { PartitionInfo } from '../../controller/index.js';
import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { BrokerContext, Handler } from '../context.js';

interface ElectLeadersRequest {
  /** v1+: 0 = preferred, 1 = unclean (KIP-460); v0 elects the preferred replica. */
  electionType?: number;
  topicPartitions: Array<{ topic: string; partitions: number[] }> | null;
  timeoutMs: number;
}

interface PartitionResult {
  partitionId: number;
  errorCode: number;
  errorMessage: string | null;
}

const ELECTION_PREFERRED = 0;
const ELECTION_UNCLEAN = 1;
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TIMEOUT_MS = 300_000;
/** Partitions whose transfer is asked for at once (an "all partitions" request may name many). */
const TRANSFERS_AT_ONCE = 32;

/**
 * ElectLeaders (KIP-183 / KIP-460; kafka-leader-election, the Java AdminClient's electLeaders,
 * kadm's ElectLeaders), answered by any broker from its applied metadata.
 *
 * - Preferred election: the partition's leader is asked to hand leadership to the preferred
 *   replica (the first of its replica list), which it does only if that replica is a voter
 *   streaming the log within 64 entries (a transfer to one behind would hold writes while it
 *   catches up). Answered once this broker's metadata names the preferred replica as leader;
 *   ELECTION_NOT_NEEDED when it already leads, PREFERRED_LEADER_NOT_AVAILABLE when it is
 *   fenced, behind, or the partition has no leader right now, REQUEST_TIMED_OUT when the
 *   handover is not seen within the request's timeout.
 * - Unclean election is refused per partition with INVALID_REQUEST: a Raft group elects its
 *   leader among its voters by majority, and a replica without the committed log can never
 *   win, so there is no unclean election to run (a partition without a majority waits for one).
 * - A null partition list means every partition; partitions whose preferred replica already
 *   leads are then left out of the answer, as Kafka does.
 */
export const electLeadersHandler: Handler = {
  apiKey: ApiKey.ElectLeaders,
  async handle(request: ElectLeadersRequest, { broker }) {
    const electionType = request.electionType ?? ELECTION_PREFERRED;
    const timeoutMs =
      request.timeoutMs > 0 ? Math.min(request.timeoutMs, MAX_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
    const deadline = performance.now() + timeoutMs;
    const state = broker.controller.state;
    const all = request.topicPartitions === null;
    const wanted: Array<{ topic: string; partitions: number[] }> =
      request.topicPartitions ??
      state.topics().map((topic) => ({
        topic: topic.name,
        partitions: topic.partitions.map((partition) => partition.partition),
      }));

    const jobs: Array<{ topic: string; partitionId: number; run: () => Promise<PartitionResult> }> = [];
    for (const { topic, partitions } of wanted)
      for (const partitionId of new Set(partitions)) {
        const run = (): Promise<PartitionResult> => {
          if (electionType === ELECTION_UNCLEAN)
            return Promise.resolve(
              result(
                partitionId,
                ErrorCode.INVALID_REQUEST,
                'unclean leader election is not supported: a Raft group elects its leader among its voters by majority, so a replica without the committed log never leads',
              ),
            );
          if (electionType !== ELECTION_PREFERRED)
            return Promise.resolve(
              result(partitionId, ErrorCode.INVALID_REQUEST, `unknown election type ${electionType}`),
            );
          const partition = broker.controller.state.topicByName(topic)?.partitions[partitionId];
          if (partition === undefined)
            return Promise.resolve(
              result(
                partitionId,
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                `no partition ${topic}-${partitionId}`,
              ),
            );
          return electPreferred(broker, partition, deadline);
        };
        jobs.push({ topic, partitionId, run });
      }

    const results = new Map<(typeof jobs)[number], PartitionResult>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        results.set(job, await job.run());
      }
    };
    await Promise.all(Array.from({ length: Math.min(TRANSFERS_AT_ONCE, jobs.length) }, worker));

    const byTopic = new Map<string, PartitionResult[]>();
    for (const job of jobs) {
      const answer = results.get(job)!;
      if (all && answer.errorCode === ErrorCode.ELECTION_NOT_NEEDED) continue;
      const list = byTopic.get(job.topic) ?? [];
      list.push(answer);
      byTopic.set(job.topic, list);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      replicaElectionResults: [...byTopic].map(([topic, partitionResult]) => ({ topic, partitionResult })),
    };
  },
  errorResponse: (request: ElectLeadersRequest, errorCode) => ({
    throttleTimeMs: 0,
    errorCode,
    replicaElectionResults: (request.topicPartitions ?? []).map(({ topic, partitions }) => ({
      topic,
      partitionResult: partitions.map((partitionId) => result(partitionId, errorCode, null)),
    })),
  }),
};

/** Hands leadership of `partition` to its preferred replica; resolves with the outcome. */
async function electPreferred(
  broker: BrokerContext,
  partition: PartitionInfo,
  deadline: number,
): Promise<PartitionResult> {
  const { partition: partitionId, preferredLeader, leader, groupId } = partition;
  if (leader === preferredLeader)
    return result(partitionId, ErrorCode.ELECTION_NOT_NEEDED, `broker ${leader} already leads`);
  const preferred = broker.controller.state.broker(preferredLeader);
  if (preferred === undefined || preferred.fenced)
    return result(
      partitionId,
      ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
      `the preferred replica, broker ${preferredLeader}, is not live`,
    );
  if (leader === -1 || broker.controllerTasks === undefined)
    return result(
      partitionId,
      ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
      'the partition has no leader right now to hand over; Raft is electing one',
    );
  try {
    await broker.controllerTasks.transferLeadership(groupId, leader, preferredLeader);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = (error as Error).message;
    if (code === 'REQUEST_TIMED_OUT') return result(partitionId, ErrorCode.REQUEST_TIMED_OUT, message);
    // Behind (NOT_ENOUGH_REPLICAS), or the leader the metadata names has just lost leadership.
    return result(
      partitionId,
      ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
      `broker ${preferredLeader} cannot take leadership now: ${message}`,
    );
  }
  const led = await whenLeader(broker, groupId, preferredLeader, deadline);
  return led
    ? result(partitionId, ErrorCode.NONE, null)
    : result(
        partitionId,
        ErrorCode.REQUEST_TIMED_OUT,
        `broker ${preferredLeader} was not seen leading before the request's timeout`,
      );
}

/** Resolves true once this broker's metadata names `leader` as the leader of `groupId`. */
function whenLeader(
  broker: BrokerContext,
  groupId: number,
  leader: number,
  deadline: number,
): Promise<boolean> {
  const { controller } = broker;
  const leads = (): boolean => controller.state.partitionByGroup(groupId)?.leader === leader;
  if (leads()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (value: boolean): void => {
      clearTimeout(timer);
      controller.off('change', onChange);
      resolve(value);
    };
    const onChange = (): void => {
      if (leads()) finish(true);
    };
    const timer = setTimeout(() => finish(leads()), Math.max(0, deadline - performance.now()));
    controller.on('change', onChange);
  });
}

function result(partitionId: number, errorCode: number, errorMessage: string | null): PartitionResult {
  return { partitionId, errorCode, errorMessage };
}
