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

/**
 * Records the targets of `requests` in order, one record each, each checked against the state
 * as the previous one left it. A refused partition does not stop the others; a failure to
 * propose at all (the leader lost its leadership) rejects, so the asking broker tries again.
 */
export async function alterReassignmentsAsLeader(
  requests: readonly ReassignmentRequest[],
  leader: ReassignmentLeader,
): Promise<{ index: number; value: ReassignmentResult[] }> {
  const results: ReassignmentResult[] = [];
  let index = leader.appliedIndex();
  for (const request of requests) {
    const decision = decideReassignment(leader.state(), request);
    const where = { topic: request.topic, partition: request.partition };
    if (decision.kind === 'refused') {
      results.push({ ...where, errorName: decision.errorName, message: decision.message });
      continue;
    }
    try {
      const applied = await leader.propose({
        type: 'partition-reassignment',
        groupId: decision.groupId,
        target: decision.target,
      });
      index = applied.index;
      results.push({ ...where, errorName: null, message: null });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // The record reached the log and was refused there (a broker unregistered meanwhile).
      if (typeof code === 'string' && code !== 'NOT_CONTROLLER')
        results.push({ ...where, errorName: code, message: (error as Error).message });
      else throw error;
    }
  }
  return { index, value: results };
}
