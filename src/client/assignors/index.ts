import { cooperativeStickyAssignor } from './cooperative-sticky.js';
import { rangeAssignor } from './range.js';
import { roundRobinAssignor } from './round-robin.js';
import type { Assignor } from './types.js';

export { cooperativeStickyAssignor } from './cooperative-sticky.js';
export { rangeAssignor } from './range.js';
export { roundRobinAssignor } from './round-robin.js';
export type { AssignmentContext, Assignor, AssignorMember, RebalanceProtocol } from './types.js';

/** The built-in assignors by protocol name. */
export const BUILT_IN_ASSIGNORS: ReadonlyMap<string, Assignor> = new Map(
  [rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor].map((assignor) => [assignor.name, assignor]),
);
