import type { NodeId } from '../lib/ids.js';
import { nodeId } from '../lib/ids.js';
import type { ConfState } from './types.js';

/**
 * One membership change. goqueue changes membership one server at a time (Raft thesis §4.1):
 * every change adds or removes at most one voter, so any majority of the old voter set and any
 * majority of the new one share a server and two leaders can never be elected in one term.
 * See docs/raft.md for why this over joint consensus, and for the "applied" rule.
 */
export enum ConfChangeType {
  /** Add a voter, or promote an existing learner. */
  AddVoter = 1,
  /** Add a learner, or demote an existing voter. */
  AddLearner = 2,
  Remove = 3,
}

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly node: NodeId;
}

/** Wire form (5 bytes): type (u8), node (u32 big-endian). */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const bytes = new Uint8Array(5);
  bytes[0] = change.type;
  new DataView(bytes.buffer).setUint32(1, change.node);
  return bytes;
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  if (bytes.length !== 5) throw new RangeError(`a ConfChange is 5 bytes, got ${bytes.length}`);
  const type = bytes[0]!;
  if (type < ConfChangeType.AddVoter || type > ConfChangeType.Remove)
    throw new RangeError(`unknown ConfChange type ${type}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { type, node: nodeId(view.getUint32(1)) };
}

/** The membership after `change`. Voter and learner sets stay disjoint and sorted. */
export function applyConfChange(state: ConfState, change: ConfChange): ConfState {
  const voters = new Set(state.voters);
  const learners = new Set(state.learners);
  voters.delete(change.node);
  learners.delete(change.node);
  if (change.type === ConfChangeType.AddVoter) voters.add(change.node);
  if (change.type === ConfChangeType.AddLearner) learners.add(change.node);
  const sorted = (ids: Set<NodeId>) => [...ids].sort((a, b) => a - b);
  return { voters: sorted(voters), learners: sorted(learners) };
}

/** Why `change` cannot be applied to `state`, or undefined when it can. */
export function validateConfChange(state: ConfState, change: ConfChange): string | undefined {
  if (change.node <= 0) return `node id ${change.node} is not a valid node id`;
  const next = applyConfChange(state, change);
  if (next.voters.length === 0) return 'the change would leave no voters';
  const added = next.voters.filter((id) => !state.voters.includes(id)).length;
  const removed = state.voters.filter((id) => !next.voters.includes(id)).length;
  if (added + removed > 1) return 'a change may add or remove at most one voter';
  return undefined;
}

export function confStateEqual(a: ConfState, b: ConfState): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]) =>
    x.length === y.length && x.every((id, i) => id === y[i]);
  return same(a.voters, b.voters) && same(a.learners, b.learners);
}
