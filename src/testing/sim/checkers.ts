import type { LogIndex, NodeId, Term } from '../../lib/ids.js';

/** A safety property broke: the seed is a counterexample. */
export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

/**
 * The Raft paper's safety properties (figure 3), checked while the simulation runs:
 * - Election Safety: at most one leader per term.
 * - State Machine Safety: no two nodes apply different entries at one index.
 * - Leader Completeness: a new leader's log holds every entry applied anywhere before.
 * Log Matching is checked over durable logs by the simulation at checkpoints.
 */
export class SafetyChecker {
  private readonly leaders = new Map<Term, NodeId>();
  /** Index -> the entry first applied there (term and a content key). */
  private readonly applied = new Map<LogIndex, { term: Term; key: string }>();
  maxAppliedIndex = 0;

  leaderElected(term: Term, node: NodeId): void {
    const existing = this.leaders.get(term);
    if (existing !== undefined && existing !== node)
      throw new InvariantViolation(`election safety: nodes ${existing} and ${node} both lead term ${term}`);
    this.leaders.set(term, node);
  }

  entryApplied(node: NodeId, index: LogIndex, term: Term, key: string): void {
    const existing = this.applied.get(index);
    if (!existing) {
      this.applied.set(index, { term, key });
      if (index > this.maxAppliedIndex) this.maxAppliedIndex = index;
      return;
    }
    if (existing.term !== term || existing.key !== key)
      throw new InvariantViolation(
        `state machine safety: node ${node} applied ${term}/${index} ${key}, another node applied ${existing.term}/${index} ${existing.key}`,
      );
  }

  /** `termAt` answers the new leader's log (undefined when compacted: covered by its snapshot). */
  checkLeaderCompleteness(
    node: NodeId,
    leaderTerm: Term,
    firstIndex: LogIndex,
    termAt: (index: LogIndex) => Term | undefined,
  ): void {
    for (const [index, entry] of this.applied) {
      if (index < firstIndex || entry.term >= leaderTerm) continue;
      const held = termAt(index);
      if (held !== entry.term)
        throw new InvariantViolation(
          `leader completeness: leader ${node} of term ${leaderTerm} has term ${held} at ${index}, committed entry has term ${entry.term}`,
        );
    }
  }
}

/** Log Matching: if two logs hold an entry with the same index and term, all earlier entries match. */
export function checkLogMatching(logs: Array<{ node: NodeId; first: number; terms: Term[] }>): void {
  for (let a = 0; a < logs.length; a++) {
    for (let b = a + 1; b < logs.length; b++) {
      const x = logs[a]!;
      const y = logs[b]!;
      const lo = Math.max(x.first, y.first);
      const hi = Math.min(x.first + x.terms.length, y.first + y.terms.length) - 1;
      let matchedFrom = -1;
      for (let i = hi; i >= lo; i--) {
        const same = x.terms[i - x.first] === y.terms[i - y.first];
        if (same && matchedFrom < 0) matchedFrom = i;
        if (!same && matchedFrom >= 0)
          throw new InvariantViolation(
            `log matching: nodes ${x.node} and ${y.node} agree at index ${matchedFrom} but differ at ${i}`,
          );
      }
    }
  }
}
