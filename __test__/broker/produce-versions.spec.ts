import test from 'ava';
import type { BrokerContext } from '../../src/broker/context.js';
import {
  completeProduceResponse,
  resolveProduceTopicIds,
} from '../../src/broker/handlers/produce-versions.js';
import { ErrorCode } from '../../src/protocol/index.js';

/** A broker (id 1) that knows topic `t` (partition 0 led by broker 2 in epoch 5) and broker 2's endpoint. */
function fakeBroker(): BrokerContext {
  return {
    brokerId: 1,
    advertised: { host: 'one.example', port: 9092 },
    config: { rack: null },
    topics: {
      partition: (topic: string, index: number) =>
        topic === 't' && index === 0 ? { info: { leader: 2, leaderEpoch: 5 }, log: undefined } : undefined,
    },
    controller: {
      state: {
        broker: (id: number) =>
          id === 2
            ? { brokerId: 2, client: { host: 'two.example', port: 9093 }, rack: 'r2', fenced: false }
            : undefined,
        topicById: (id: string) =>
          id === '01234567-89ab-cdef-0123-456789abcdef' ? { name: 't' } : undefined,
      },
    },
  } as unknown as BrokerContext;
}

test('Produce v10+: NOT_LEADER_OR_FOLLOWER names the leader and its endpoint (KIP-951); v9 does not', (t) => {
  const broker = fakeBroker();
  const request = { topicData: [{ name: 't' }] };
  const answer = () => ({
    responses: [
      { name: 't', partitionResponses: [{ index: 0, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }] },
    ],
  });
  const v10 = completeProduceResponse(broker, request, answer(), 10);
  t.deepEqual(v10.responses[0]!.partitionResponses[0]!.currentLeader, { leaderId: 2, leaderEpoch: 5 });
  t.deepEqual(v10.nodeEndpoints, [{ nodeId: 2, host: 'two.example', port: 9093, rack: 'r2' }]);
  const v9 = completeProduceResponse(broker, request, answer(), 9);
  t.is(v9.responses[0]!.partitionResponses[0]!.currentLeader, undefined);
  t.is(v9.nodeEndpoints, undefined);
});

test('Produce v13: ids resolve to names before the handler and come back in the answer', (t) => {
  const broker = fakeBroker();
  const request = {
    topicData: [
      { name: '', topicId: '0123456789abcdef0123456789abcdef' },
      { name: '', topicId: 'ffffffffffffffffffffffffffffffff' },
    ],
  };
  resolveProduceTopicIds(broker, request, 13);
  t.is(request.topicData[0]!.name, 't');
  t.true(request.topicData[1]!.name.startsWith('\u0000'));
  const body = completeProduceResponse(
    broker,
    request,
    {
      responses: request.topicData.map((topic) => ({
        name: topic.name,
        partitionResponses: [{ index: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }],
      })),
    },
    13,
  );
  t.is(body.responses[0]!.topicId, '0123456789abcdef0123456789abcdef');
  t.is(body.responses[1]!.topicId, 'ffffffffffffffffffffffffffffffff');
  t.is(body.responses[1]!.partitionResponses[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
});
