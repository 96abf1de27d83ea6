import type { NodeId } from '../lib/ids.js';

/**
 * A proposal the node will not append: it is not the leader, a leadership transfer is in
 * progress, a membership change is still pending, or the uncommitted backlog is full. The
 * caller retries elsewhere or later (for Kafka: NOT_LEADER_OR_FOLLOWER, code 6, with `leader`).
 */
export class ProposalDroppedError extends Error {
  override name = 'ProposalDroppedError';
  constructor(
    message: string,
    /** The leader this node knows of (0 when none), so the caller can redirect. */
    readonly leader: NodeId,
  ) {
    super(message);
  }
}

/**
 * A stored entry needed to rebuild the group's state at open (its membership) failed its checks:
 * it rotted on disk after it was written. The group does not open on a guess; it opens once the
 * entry is repaired from a peer's copy (the read that found it asked for the repair).
 */
export class DamagedEntryError extends Error {
  override name = 'DamagedEntryError';
}
