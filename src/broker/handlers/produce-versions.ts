import { ErrorCode } from '../../protocol/index.js';
import type { BrokerContext } from '../context.js';
import { endpointsOf, type LeaderHint, leaderHint, wantsLeaderHint } from './leader-hints.js';
import { topicNameOfId } from './topic-ids.js';

/**
 * What newer Produce versions add around the produce handler, which works on topic names and
 * plain partition answers: v13+ requests name topics by id (resolved to names before the
 * handler, answered by id after it), v10+ answers carry KIP-951 leader hints.
 */
const TOPIC_IDS_FROM = 13;
const LEADER_HINTS_FROM = 10;

interface ProduceRequestTopics {
  topicData: Array<{ name: string; topicId?: string }>;
}

interface ProduceResponseBody {
  responses: Array<{
    name?: string;
    topicId?: string;
    partitionResponses: Array<{ index: number; errorCode: number; currentLeader?: LeaderHint }>;
  }>;
  nodeEndpoints?: unknown[];
}

/**
 * v13+: gives each topic its name from its id. An unknown id gets a name no topic can have (it
 * contains a NUL), so the handler answers it with an error that `completeProduceResponse`
 * turns into UNKNOWN_TOPIC_ID.
 */
export function resolveProduceTopicIds(
  broker: BrokerContext,
  request: ProduceRequestTopics,
  apiVersion: number,
): void {
  if (apiVersion < TOPIC_IDS_FROM) return;
  for (const topic of request.topicData)
    topic.name = topicNameOfId(broker, topic.topicId) ?? `\u0000unknown-topic-id-${topic.topicId ?? ''}`;
}

/** Adds what the version carries to the handler's answer (topics are answered in request order). */
export function completeProduceResponse(
  broker: BrokerContext,
  request: ProduceRequestTopics,
  body: ProduceResponseBody,
  apiVersion: number,
): ProduceResponseBody {
  if (apiVersion >= TOPIC_IDS_FROM) {
    body.responses.forEach((topic, i) => {
      const asked = request.topicData[i];
      topic.topicId = asked?.topicId;
      if (asked?.name.startsWith('\u0000'))
        for (const partition of topic.partitionResponses) partition.errorCode = ErrorCode.UNKNOWN_TOPIC_ID;
    });
  }
  if (apiVersion >= LEADER_HINTS_FROM) {
    const hints: LeaderHint[] = [];
    body.responses.forEach((topic, i) => {
      const name = request.topicData[i]?.name;
      if (name === undefined) return;
      for (const partition of topic.partitionResponses) {
        if (!wantsLeaderHint(partition.errorCode)) continue;
        const hint = leaderHint(broker, name, partition.index);
        if (hint === undefined) continue;
        partition.currentLeader = hint;
        hints.push(hint);
      }
    });
    if (hints.length > 0) body.nodeEndpoints = endpointsOf(broker, hints);
  }
  return body;
}
