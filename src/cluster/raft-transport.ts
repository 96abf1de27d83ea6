import type { NodeId } from '../lib/ids.js';

/**
 * What `MultiRaftNode` needs from a transport between brokers: the TCP `Transport`
 * (src/cluster/transport.ts) in production, a simulated network in the simulator. Frames from
 * one peer arrive in the order they were sent or not at all; none is duplicated.
 */
export interface RaftTransport {
  /** Registers the handler of every received frame (`channel` is the frame's group id). */
  onMessage(handler: (from: NodeId, channel: number, payload: Buffer) => void): void;
  /** Registers the handler called when the connection to a peer is lost. */
  onPeerDisconnected(handler: (peer: NodeId) => void): void;
  /** Queues one frame for `to`; never blocks, may drop (false when not queued). */
  send(to: NodeId, channel: number, payload: Buffer): boolean;
  /** Writes every queued frame (one write per peer). */
  flush(): void;
}
