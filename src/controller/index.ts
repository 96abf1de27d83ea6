/**
 * The controller's pure core (DESIGN decision 7): the metadata records, the applied state every
 * broker holds, replica assignment and broker liveness leases. No I/O, clock or randomness: the
 * broker (src/broker/controller.ts) runs it over the controller Raft group.
 */
export * from './assignment.js';
export * from './balancer.js';
export * from './liveness.js';
export * from './reassignment.js';
export * from './reassignment-requests.js';
export * from './records.js';
export * from './state.js';
