/**
 * AlterPartitionReassignments on the controller leader: each partition of the request is checked
 * against the applied metadata (src/controller/reassignment-requests.ts) and its target is
 * recorded with one `partition-reassignment` record. The answer comes once the records are
 * applied, not once the moves finish: the controller leader's tasks (controller-tasks.ts) carry
 * each move out, one membership change at a time, at most `max_replica_moves` at once.
 */
import {
  type ControllerRecord,
  type ControllerState,
  decideReassignment,
  type ReassignmentRequest,
} from '../controller/index.js';

/** Partitions one request may name (Kafka has no limit; ours keeps a command's JSON bounded). */
export const MAX_REASSIGNMENTS_PER_REQUEST = 10_000;

/** One partition's outcome, as it travels back from the controller leader. */
export interface ReassignmentResult {
  topic: string;
  partition: number;
  /** A Kafka error name, null when the target (or the cancel) is recorded. */
  errorName: string | null;
  message: string | null;
}

export interface ReassignmentLeader {
  /** The applied metadata now (read again after each record). */
  state(): ControllerState;
  /** Proposes one record; resolves once applied, rejects with a ControllerError. */
  propose(record: ControllerRecord): Promise<{ index: number }>;
  /** The last applied index (the answer's index when nothing was proposed). */
  appliedIndex(): number;
}

/** Records proposed at once: a request naming thousands of partitions is not one commit round
 * trip per partition, and the controller log is not flooded either. */
const PROPOSALS_IN_FLIGHT = 64;

/**
 * Records the targets of `requests` (distinct partitions: the handler refuses a partition named
 * twice), each checked against the applied metadata, up to PROPOSALS_IN_FLIGHT proposals at a
 * time. A refused partition does not stop the others; a failure to propose at all (the leader
 * lost its leadership) rejects, so the asking broker tries again (recording a target twice is
 * harmless).
 */
export async function alterReassignmentsAsLeader(
  requests: readonly ReassignmentRequest[],
  leader: ReassignmentLeader,
): Promise<{ index: number; value: ReassignmentResult[] }> {
  const results: ReassignmentResult[] = new Array(requests.length);
  let index = leader.appliedIndex();
  let next = 0;
  const record = async (position: number): Promise<void> => {
    const request = requests[position]!;
    const where = { topic: request.topic, partition: request.partition };
    const decision = decideReassignment(leader.state(), request);
    if (decision.kind === 'refused') {
      results[position] = { ...where, errorName: decision.errorName, message: decision.message };
      return;
    }
    try {
      const applied = await leader.propose({
        type: 'partition-reassignment',
        groupId: decision.groupId,
        target: decision.target,
        // An operator's placement (cancel included): replica balancing keeps it.
        byOperator: true,
      });
      index = Math.max(index, applied.index);
      results[position] = { ...where, errorName: null, message: null };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // The record reached the log and was refused there (a broker unregistered meanwhile).
      if (typeof code === 'string' && code !== 'NOT_CONTROLLER')
        results[position] = { ...where, errorName: code, message: (error as Error).message };
      else throw error;
    }
  };
  const worker = async (): Promise<void> => {
    while (next < requests.length) await record(next++);
  };
  await Promise.all(Array.from({ length: Math.min(PROPOSALS_IN_FLIGHT, requests.length) }, worker));
  return { index, value: results };
}
