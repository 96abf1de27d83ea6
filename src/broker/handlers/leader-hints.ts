import { ErrorCode } from '../../protocol/index.js';
import type { BrokerContext } from '../context.js';

/** KIP-951: who leads a partition now, told to a client that reached the wrong broker. */
export interface LeaderHint {
  leaderId: number;
  leaderEpoch: number;
}

export interface NodeEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** The errors that carry a leader hint in Produce v10+ and Fetch v12+ (KIP-951). */
export function wantsLeaderHint(errorCode: number): boolean {
  return errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || errorCode === ErrorCode.FENCED_LEADER_EPOCH;
}

/**
 * The leader of `topic`/`partition` as this broker knows it: its replica's own view (the
 * freshest) when that names a leader, else the controller's record. Undefined when no live
 * broker is known to lead it (the client then refreshes metadata, as before KIP-951).
 */
export function leaderHint(broker: BrokerContext, topic: string, partition: number): LeaderHint | undefined {
  const state = broker.topics.partition(topic, partition);
  if (state === undefined) return undefined;
  let leaderId = state.info.leader;
  let leaderEpoch = state.info.leaderEpoch;
  const log = state.log;
  if (log !== undefined && log.leaderId > 0 && log.leaderEpoch >= leaderEpoch) {
    leaderId = log.leaderId;
    leaderEpoch = log.leaderEpoch;
  }
  if (leaderId <= 0 || nodeEndpoint(broker, leaderId) === undefined) return undefined;
  return { leaderId, leaderEpoch };
}

/** The client endpoint of a live broker (this one included), for `nodeEndpoints`. */
export function nodeEndpoint(broker: BrokerContext, nodeId: number): NodeEndpoint | undefined {
  if (nodeId === broker.brokerId)
    return { nodeId, host: broker.advertised.host, port: broker.advertised.port, rack: broker.config.rack };
  const known = broker.controller.state.broker(nodeId);
  if (known === undefined || known.fenced) return undefined;
  return { nodeId, host: known.client.host, port: known.client.port, rack: known.rack };
}

/** Endpoints of every leader named in `hints`, once each, by node id. */
export function endpointsOf(broker: BrokerContext, hints: Iterable<LeaderHint>): NodeEndpoint[] {
  const byId = new Map<number, NodeEndpoint>();
  for (const hint of hints) {
    if (byId.has(hint.leaderId)) continue;
    const endpoint = nodeEndpoint(broker, hint.leaderId);
    if (endpoint !== undefined) byId.set(hint.leaderId, endpoint);
  }
  return [...byId.values()].sort((a, b) => a.nodeId - b.nodeId);
}
