/**
 * Golden bytes for responses, with kafkajs' per-version response decoders as the independent
 * oracle: what our encoder writes, kafkajs reads back field for field (kafkajs names its fields
 * differently; each case states the expected kafkajs view).
 */
import test from 'ava';
import { decodeResponse, encodeResponse } from '../../src/protocol/index.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { kafkajsDecodeResponse, projectToVersion, responseFields } from './helpers.js';

interface Case {
  api: string;
  apiKey: number;
  versions: number[];
  ours: (version: number) => Record<string, unknown>;
  kafkajs: (version: number) => object;
}

const memberMetadata = Buffer.from([0, 1, 0, 0, 0, 1, 0, 5, 97, 108, 112, 104, 97]);

const cases: Case[] = [
  {
    api: 'apiVersions',
    apiKey: 18,
    versions: [0, 1, 2],
    ours: () => ({
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 0, maxVersion: 8 },
        { apiKey: 18, minVersion: 0, maxVersion: 2 },
      ],
      throttleTimeMs: 0,
    }),
    kafkajs: () => ({
      errorCode: 0,
      apiVersions: [
        { apiKey: 0, minVersion: 0, maxVersion: 8 },
        { apiKey: 18, minVersion: 0, maxVersion: 2 },
      ],
    }),
  },
  {
    api: 'metadata',
    apiKey: 3,
    versions: [0, 1, 2, 3, 4, 5, 6],
    ours: () => ({
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }],
      clusterId: 'cluster-a',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'alpha',
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 1,
              leaderEpoch: 4,
              replicaNodes: [1, 2, 3],
              isrNodes: [1, 2],
              offlineReplicas: [3],
            },
          ],
          topicAuthorizedOperations: -2147483648,
        },
      ],
    }),
    kafkajs: (version) => ({
      brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092 }],
      ...(version >= 1 ? { controllerId: 1 } : {}),
      ...(version >= 2 ? { clusterId: 'cluster-a' } : {}),
      topicMetadata: [
        {
          topicErrorCode: 0,
          topic: 'alpha',
          partitionMetadata: [
            {
              partitionErrorCode: 0,
              partitionId: 0,
              leader: 1,
              replicas: [1, 2, 3],
              isr: [1, 2],
              ...(version >= 5 ? { offlineReplicas: [3] } : {}),
            },
          ],
        },
      ],
    }),
  },
  {
    api: 'produce',
    apiKey: 0,
    versions: [3, 4, 5, 6, 7],
    ours: () => ({
      responses: [
        {
          name: 'alpha',
          partitionResponses: [
            { index: 2, errorCode: 0, baseOffset: 1234567890123, logAppendTimeMs: -1, logStartOffset: 7 },
          ],
        },
      ],
      throttleTimeMs: 0,
    }),
    kafkajs: (version) => ({
      topics: [
        {
          topicName: 'alpha',
          partitions: [
            {
              partition: 2,
              errorCode: 0,
              baseOffset: '1234567890123',
              logAppendTime: '-1',
              ...(version >= 5 ? { logStartOffset: '7' } : {}),
            },
          ],
        },
      ],
    }),
  },
  {
    api: 'listOffsets',
    apiKey: 2,
    versions: [1, 2, 3],
    ours: () => ({
      throttleTimeMs: 0,
      topics: [
        {
          name: 'alpha',
          partitions: [{ partitionIndex: 1, errorCode: 0, timestamp: -1, offset: 99, leaderEpoch: 2 }],
        },
      ],
    }),
    kafkajs: () => ({
      responses: [
        { topic: 'alpha', partitions: [{ partition: 1, errorCode: 0, timestamp: '-1', offset: '99' }] },
      ],
    }),
  },
  {
    api: 'createTopics',
    apiKey: 19,
    versions: [0, 1, 2, 3],
    ours: () => ({
      throttleTimeMs: 0,
      topics: [
        { name: 'alpha', errorCode: 0, errorMessage: null },
        { name: 'beta', errorCode: 36, errorMessage: 'Topic beta already exists.' },
      ],
    }),
    kafkajs: (version) => ({
      topicErrors: [
        { topic: 'alpha', errorCode: 0, ...(version >= 1 ? { errorMessage: null } : {}) },
        {
          topic: 'beta',
          errorCode: 36,
          ...(version >= 1 ? { errorMessage: 'Topic beta already exists.' } : {}),
        },
      ],
    }),
  },
  {
    api: 'deleteTopics',
    apiKey: 20,
    versions: [0, 1],
    ours: () => ({ throttleTimeMs: 0, responses: [{ name: 'alpha', errorCode: 3 }] }),
    kafkajs: () => ({ topicErrors: [{ topic: 'alpha', errorCode: 3 }] }),
  },
  {
    api: 'createPartitions',
    apiKey: 37,
    versions: [0, 1],
    ours: () => ({ throttleTimeMs: 0, results: [{ name: 'alpha', errorCode: 37, errorMessage: 'too few' }] }),
    kafkajs: () => ({ topicErrors: [{ topic: 'alpha', errorCode: 37, errorMessage: 'too few' }] }),
  },
  {
    api: 'describeConfigs',
    apiKey: 32,
    versions: [1, 2],
    ours: () => ({
      throttleTimeMs: 0,
      results: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: 'alpha',
          configs: [
            {
              name: 'retention.ms',
              value: '604800000',
              readOnly: false,
              configSource: 5,
              isSensitive: false,
              synonyms: [{ name: 'log.retention.ms', value: '604800000', source: 5 }],
            },
          ],
        },
      ],
    }),
    kafkajs: () => ({
      resources: [
        {
          errorCode: 0,
          resourceType: 2,
          resourceName: 'alpha',
          configEntries: [
            {
              configName: 'retention.ms',
              configValue: '604800000',
              readOnly: false,
              configSource: 5,
              isSensitive: false,
              configSynonyms: [{ configName: 'log.retention.ms', configValue: '604800000', configSource: 5 }],
            },
          ],
        },
      ],
    }),
  },
  {
    api: 'findCoordinator',
    apiKey: 10,
    versions: [0, 1, 2],
    ours: () => ({
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      nodeId: 1,
      host: 'localhost',
      port: 19092,
    }),
    kafkajs: () => ({ errorCode: 0, coordinator: { nodeId: 1, host: 'localhost', port: 19092 } }),
  },
  {
    api: 'joinGroup',
    apiKey: 11,
    versions: [2, 3, 4, 5],
    ours: () => ({
      throttleTimeMs: 0,
      errorCode: 0,
      generationId: 3,
      protocolName: 'RoundRobinAssigner',
      leader: 'member-1',
      memberId: 'member-1',
      members: [{ memberId: 'member-1', groupInstanceId: 'instance-1', metadata: memberMetadata }],
    }),
    kafkajs: (version) => ({
      errorCode: 0,
      generationId: 3,
      groupProtocol: 'RoundRobinAssigner',
      leaderId: 'member-1',
      memberId: 'member-1',
      members: [
        { memberId: 'member-1', memberMetadata, ...(version >= 5 ? { groupInstanceId: 'instance-1' } : {}) },
      ],
    }),
  },
  {
    api: 'heartbeat',
    apiKey: 12,
    versions: [1, 2, 3],
    ours: () => ({ throttleTimeMs: 0, errorCode: 27 }),
    kafkajs: () => ({ errorCode: 27 }),
  },
  {
    api: 'leaveGroup',
    apiKey: 13,
    versions: [3],
    ours: () => ({
      throttleTimeMs: 0,
      errorCode: 0,
      members: [{ memberId: 'member-1', groupInstanceId: null, errorCode: 25 }],
    }),
    kafkajs: () => ({
      errorCode: 0,
      members: [{ memberId: 'member-1', groupInstanceId: null, errorCode: 25 }],
    }),
  },
  {
    api: 'syncGroup',
    apiKey: 14,
    versions: [1, 2, 3],
    ours: () => ({ throttleTimeMs: 0, errorCode: 0, assignment: memberMetadata }),
    kafkajs: () => ({ errorCode: 0, memberAssignment: memberMetadata }),
  },
  {
    api: 'describeGroups',
    apiKey: 15,
    versions: [0, 1, 2],
    ours: () => ({
      throttleTimeMs: 0,
      groups: [
        {
          errorCode: 0,
          groupId: 'group-1',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'RoundRobinAssigner',
          members: [
            {
              memberId: 'member-1',
              groupInstanceId: null,
              clientId: 'client-1',
              clientHost: '/127.0.0.1',
              memberMetadata,
              memberAssignment: Buffer.from('x'),
            },
          ],
          authorizedOperations: -2147483648,
        },
      ],
    }),
    kafkajs: () => ({
      groups: [
        {
          errorCode: 0,
          groupId: 'group-1',
          state: 'Stable',
          protocolType: 'consumer',
          protocol: 'RoundRobinAssigner',
          members: [
            {
              memberId: 'member-1',
              clientId: 'client-1',
              clientHost: '/127.0.0.1',
              memberMetadata,
              memberAssignment: Buffer.from('x'),
            },
          ],
        },
      ],
    }),
  },
  {
    api: 'listGroups',
    apiKey: 16,
    versions: [1, 2],
    ours: () => ({
      throttleTimeMs: 0,
      errorCode: 0,
      groups: [{ groupId: 'group-1', protocolType: 'consumer' }],
    }),
    kafkajs: () => ({ errorCode: 0, groups: [{ groupId: 'group-1', protocolType: 'consumer' }] }),
  },
  {
    api: 'saslHandshake',
    apiKey: 17,
    versions: [0, 1],
    ours: () => ({ errorCode: 33, mechanisms: ['PLAIN', 'SCRAM-SHA-256'] }),
    kafkajs: () => ({ errorCode: 33, enabledMechanisms: ['PLAIN', 'SCRAM-SHA-256'] }),
  },
  {
    api: 'initProducerId',
    apiKey: 22,
    versions: [0, 1],
    ours: () => ({ throttleTimeMs: 0, errorCode: 0, producerId: 4000, producerEpoch: 2 }),
    kafkajs: () => ({ errorCode: 0, producerId: '4000', producerEpoch: 2 }),
  },
  {
    api: 'offsetCommit',
    apiKey: 8,
    versions: [0, 1, 2, 3, 4, 5],
    ours: () => ({
      throttleTimeMs: 0,
      topics: [
        {
          name: 'alpha',
          partitions: [
            { partitionIndex: 0, errorCode: 0 },
            { partitionIndex: 1, errorCode: 22 },
          ],
        },
      ],
    }),
    kafkajs: () => ({
      responses: [
        {
          topic: 'alpha',
          partitions: [
            { partition: 0, errorCode: 0 },
            { partition: 1, errorCode: 22 },
          ],
        },
      ],
    }),
  },
  {
    api: 'offsetFetch',
    apiKey: 9,
    versions: [1, 2, 3, 4],
    ours: () => ({
      throttleTimeMs: 0,
      topics: [
        {
          name: 'alpha',
          partitions: [
            { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
          ],
        },
      ],
      errorCode: 0,
    }),
    kafkajs: () => ({
      responses: [
        { topic: 'alpha', partitions: [{ partition: 0, offset: '42', metadata: '', errorCode: 0 }] },
      ],
    }),
  },
];

for (const { api, apiKey, versions, ours, kafkajs } of cases) {
  for (const version of versions) {
    test(`${api} v${version} response: kafkajs decodes our bytes to the expected values, and so do we`, async (t) => {
      const frame = encodeResponse(apiKey, version, 99, ours(version));
      t.is(frame.readInt32BE(0), frame.length - 4);
      t.is(frame.readInt32BE(4), 99);
      const decodedByKafkajs = await kafkajsDecodeResponse(api, version, frame.subarray(8));
      t.like(decodedByKafkajs, kafkajs(version));
      const ourDecode = decodeResponse(apiKey, version, frame.subarray(4));
      t.is(ourDecode.correlationId, 99);
      t.deepEqual(ourDecode.body, projectToVersion(responseFields(apiKey), version, ours(version)));
    });
  }
}

// Fetch: kafkajs decodes the record batches inside, so this also checks the hot-path encoder.
for (const version of [4, 5, 6, 7, 8, 9, 10, 11]) {
  test(`fetch v${version} response: kafkajs decodes our hot-path bytes, records included`, async (t) => {
    const records = encodeRecordBatch({
      baseOffset: 40,
      baseTimestamp: 1700000000000,
      records: [
        { key: 'k1', value: 'v1', headers: [{ key: 'trace', value: 'abc' }] },
        { key: null, value: 'v2', timestamp: 1700000000009 },
      ],
    });
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 'alpha',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 42,
              lastStableOffset: 42,
              logStartOffset: 0,
              abortedTransactions: [{ producerId: 7, firstOffset: 3 }],
              preferredReadReplica: -1,
              records,
            },
            {
              partitionIndex: 1,
              errorCode: 1,
              highWatermark: -1,
              lastStableOffset: -1,
              logStartOffset: -1,
              abortedTransactions: null,
              preferredReadReplica: -1,
              records: null,
            },
          ],
        },
      ],
    };
    const frame = encodeResponse(1, version, 5, body);
    // biome-ignore lint/suspicious/noExplicitAny: kafkajs' decoded shape
    const decoded: any = await kafkajsDecodeResponse('fetch', version, frame.subarray(8));
    t.is(decoded.responses[0].topicName, 'alpha');
    const [first, second] = decoded.responses[0].partitions;
    t.like(first, { partition: 0, errorCode: 0, highWatermark: '42', lastStableOffset: '42' });
    t.deepEqual(first.abortedTransactions, [{ producerId: '7', firstOffset: '3' }]);
    t.deepEqual(
      first.messages.map((m: { offset: string; key: Buffer | null; value: Buffer; timestamp: string }) => [
        m.offset,
        m.key?.toString() ?? null,
        m.value.toString(),
        m.timestamp,
      ]),
      [
        ['40', 'k1', 'v1', '1700000000000'],
        ['41', null, 'v2', '1700000000009'],
      ],
    );
    t.like(second, { partition: 1, errorCode: 1, highWatermark: '-1' });
    t.deepEqual(second.messages, []);
    const ourDecode = decodeResponse(1, version, frame.subarray(4));
    t.deepEqual(ourDecode.body, projectToVersion(responseFields(1), version, body));
  });
}
