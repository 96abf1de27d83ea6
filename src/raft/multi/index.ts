export {
  type CoalescedHeartbeat,
  type CoalescedHeartbeatResponse,
  type GroupId,
  type HostReady,
  MultiRaftHost,
  type MultiRaftHostOptions,
  type PeerBatch,
} from './host.js';
