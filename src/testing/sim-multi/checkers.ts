/**
 * What the multi-group simulator checks, per group:
 * - Election safety: at most one leader per term.
 * - State machine safety: no two replicas apply different entries at one index (this is also
 *   what stale entries under a saved commit index become).
 * - Persist before you tell: after any crash, a replica's disk never holds a commit index beyond
 *   its log, nor, under that commit index, an entry other than the one committed there.
 * - No stale leader: a node cut off from a quorum of the group's voters (by the simulated
 *   network's ground truth) stops calling itself leader within a few election timeouts, when
 *   CheckQuorum is on.
 * - At the end (simulation.ts): every acknowledged value is in the committed log once, in the
 *   order its client saw it acknowledged, on every replica; the cluster converged after healing.
 */
import type { GroupId } from '../../raft/multi/host.js';

/** A safety or liveness property broke: the seed is a counterexample. */
export class MultiInvariantViolation extends Error {
  override name = 'MultiInvariantViolation';
}

export interface AppliedEntry {
  term: number;
  /** What the entry holds: `noop`, `conf:<type>:<node>`, or the client value. */
  key: string;
}

export class MultiSafetyChecker {
  /** group -> term -> leader */
  private readonly leaders = new Map<GroupId, Map<number, number>>();
  /** group -> index -> the entry first applied there */
  readonly committed = new Map<GroupId, Map<number, AppliedEntry>>();

  leaderElected(group: GroupId, term: number, node: number): void {
    let terms = this.leaders.get(group);
    if (terms === undefined) {
      terms = new Map();
      this.leaders.set(group, terms);
    }
    const existing = terms.get(term);
    if (existing !== undefined && existing !== node)
      throw new MultiInvariantViolation(
        `election safety: nodes ${existing} and ${node} both lead group ${group} in term ${term}`,
      );
    terms.set(term, node);
  }

  /** Returns true when this is the first time any replica applied `index` (the entry commits). */
  entryApplied(group: GroupId, node: number, index: number, entry: AppliedEntry): boolean {
    let entries = this.committed.get(group);
    if (entries === undefined) {
      entries = new Map();
      this.committed.set(group, entries);
    }
    const existing = entries.get(index);
    if (existing === undefined) {
      entries.set(index, entry);
      return true;
    }
    if (existing.term !== entry.term || existing.key !== entry.key)
      throw new MultiInvariantViolation(
        `state machine safety: node ${node} applied ${entry.term}/${index} ${entry.key} in group ${group}; it was committed as ${existing.term}/${index} ${existing.key}`,
      );
    return false;
  }

  /**
   * A replica's disk after a crash: its saved commit index must lie within its log, and the
   * entries it covers must be the committed ones (`termAt` reads the reopened log).
   */
  checkDisk(
    group: GroupId,
    node: number,
    disk: {
      commit: number;
      firstIndex: number;
      lastIndex: number;
      termAt(index: number): number | undefined;
    },
  ): void {
    if (disk.commit > disk.lastIndex)
      throw new MultiInvariantViolation(
        `persist order: node ${node} group ${group} restarts with commit ${disk.commit} on disk but a log ending at ${disk.lastIndex} (the HardState ran ahead of the entries it covers)`,
      );
    const entries = this.committed.get(group);
    if (entries === undefined) return;
    for (let index = disk.firstIndex; index <= disk.commit; index++) {
      const known = entries.get(index);
      const held = disk.termAt(index);
      if (known !== undefined && held !== undefined && held !== known.term)
        throw new MultiInvariantViolation(
          `persist order: node ${node} group ${group} restarts with entry ${index} of term ${held} under its saved commit ${disk.commit}; the committed entry has term ${known.term}`,
        );
    }
  }
}

/**
 * Tracks, per (node, group, term), the last moment a node claiming leadership could hear from a
 * quorum of the group's voters, and the last moment it could talk with one both ways, and fails
 * when a leader stays deaf, or cut off, too long.
 */
export class StaleLeaderChecker {
  private readonly lastHeardMs = new Map<string, number>();
  private readonly lastContactMs = new Map<string, number>();

  constructor(
    /** A leader that hears from no quorum steps down within this (CheckQuorum, quiet wake). */
    readonly deafThresholdMs: number,
    /** A leader that cannot reach a quorum is deposed within this (followers elect anew). */
    readonly cutThresholdMs: number,
  ) {}

  /** Call while `node` says it leads `group`; `hears` and `connected` are the network's ground truth. */
  observe(options: {
    nowMs: number;
    node: number;
    group: GroupId;
    term: number;
    hears: boolean;
    connected: boolean;
  }): void {
    const key = `${options.node}/${options.group}/${options.term}`;
    const since = (map: Map<string, number>, ok: boolean): number => {
      const last = map.get(key);
      if (ok || last === undefined) {
        map.set(key, options.nowMs);
        return 0;
      }
      return options.nowMs - last;
    };
    const deafMs = since(this.lastHeardMs, options.hears);
    const cutMs = since(this.lastContactMs, options.connected);
    if (deafMs > this.deafThresholdMs || cutMs > this.cutThresholdMs)
      throw new MultiInvariantViolation(
        `stale leader: node ${options.node} still leads group ${options.group} in term ${options.term} after ${Math.round(Math.max(deafMs, cutMs))} ms ${deafMs > this.deafThresholdMs ? 'without hearing from' : 'cut off from'} a quorum of its voters`,
      );
  }

  /** The node stopped leading (or died): forget it. */
  forget(node: number, group: GroupId): void {
    const prefix = `${node}/${group}/`;
    for (const map of [this.lastHeardMs, this.lastContactMs])
      for (const key of map.keys()) if (key.startsWith(prefix)) map.delete(key);
  }
}
