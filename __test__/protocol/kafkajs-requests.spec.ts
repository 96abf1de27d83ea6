/**
 * Golden bytes for requests, with kafkajs' per-version request encoders as the independent
 * oracle: (1) kafkajs' bytes decode with ours to the expected object; (2) our encoder, given that
 * object, writes kafkajs' bytes exactly.
 */
import test from 'ava';
import { decodeRequestBody, decodeRequestHeader, encodeRequest } from '../../src/protocol/index.js';
import { decodeRecordBatches } from '../../src/protocol/records.js';
import { kafkajsRequestBody, projectToVersion, requestFields, requestFrame } from './helpers.js';

interface Case {
  api: string;
  apiKey: number;
  versions: number[];
  kafkajs: (version: number) => object;
  ours: (version: number) => Record<string, unknown>;
}

const metadataBytes = Buffer.from([0, 1, 2, 3, 250]);
const assignmentBytes = Buffer.from('assignment');

const cases: Case[] = [
  { api: 'apiVersions', apiKey: 18, versions: [0, 1, 2], kafkajs: () => ({}), ours: () => ({}) },
  {
    api: 'metadata',
    apiKey: 3,
    versions: [0, 1, 2, 3, 4, 5, 6],
    kafkajs: () => ({ topics: ['alpha', 'beta'], allowAutoTopicCreation: false }),
    ours: () => ({ topics: [{ name: 'alpha' }, { name: 'beta' }], allowAutoTopicCreation: false }),
  },
  {
    api: 'fetch',
    apiKey: 1,
    versions: [4, 5, 6, 7, 8, 9, 10, 11],
    kafkajs: () => ({
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 1048576,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      rackId: 'rack-a',
      topics: [
        { topic: 'alpha', partitions: [{ partition: 0, fetchOffset: '42', maxBytes: 65536 }] },
        { topic: 'beta', partitions: [{ partition: 3, fetchOffset: '9007199254740000', maxBytes: 1 }] },
      ],
    }),
    ours: () => ({
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1048576,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'alpha',
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 42,
              logStartOffset: -1,
              partitionMaxBytes: 65536,
            },
          ],
        },
        {
          topic: 'beta',
          partitions: [
            {
              partition: 3,
              currentLeaderEpoch: -1,
              fetchOffset: 9007199254740000,
              logStartOffset: -1,
              partitionMaxBytes: 1,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: 'rack-a',
    }),
  },
  {
    api: 'listOffsets',
    apiKey: 2,
    versions: [0, 1, 2, 3],
    kafkajs: () => ({
      replicaId: -1,
      isolationLevel: 1,
      topics: [
        {
          topic: 'alpha',
          partitions: [
            { partition: 0, timestamp: -2 },
            { partition: 1, timestamp: -1 },
          ],
        },
      ],
    }),
    ours: () => ({
      replicaId: -1,
      isolationLevel: 1,
      topics: [
        {
          name: 'alpha',
          partitions: [
            { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 },
            { partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 },
          ],
        },
      ],
    }),
  },
  {
    api: 'createTopics',
    apiKey: 19,
    versions: [0, 1, 2, 3],
    kafkajs: () => ({
      topics: [
        {
          topic: 'alpha',
          numPartitions: 3,
          replicationFactor: 1,
          replicaAssignment: [{ partition: 0, replicas: [1, 2] }],
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
        { topic: 'beta' },
      ],
      validateOnly: true,
      timeout: 5000,
    }),
    ours: () => ({
      topics: [
        {
          name: 'alpha',
          numPartitions: 3,
          replicationFactor: 1,
          assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
          configs: [{ name: 'cleanup.policy', value: 'compact' }],
        },
        { name: 'beta', numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] },
      ],
      timeoutMs: 5000,
      validateOnly: true,
    }),
  },
  {
    api: 'deleteTopics',
    apiKey: 20,
    versions: [0, 1],
    kafkajs: () => ({ topics: ['alpha', 'beta'], timeout: 5000 }),
    ours: () => ({ topicNames: ['alpha', 'beta'], timeoutMs: 5000 }),
  },
  {
    api: 'createPartitions',
    apiKey: 37,
    versions: [0, 1],
    kafkajs: () => ({
      topicPartitions: [{ topic: 'alpha', count: 4, assignments: [[1], [2]] }],
      validateOnly: false,
      timeout: 5000,
    }),
    ours: () => ({
      topics: [{ name: 'alpha', count: 4, assignments: [{ brokerIds: [1] }, { brokerIds: [2] }] }],
      timeoutMs: 5000,
      validateOnly: false,
    }),
  },
  {
    api: 'describeConfigs',
    apiKey: 32,
    versions: [0, 1, 2],
    kafkajs: () => ({
      resources: [{ type: 2, name: 'alpha', configNames: ['retention.ms', 'segment.bytes'] }],
      includeSynonyms: true,
    }),
    ours: () => ({
      resources: [
        { resourceType: 2, resourceName: 'alpha', configurationKeys: ['retention.ms', 'segment.bytes'] },
      ],
      includeSynonyms: true,
    }),
  },
  {
    api: 'findCoordinator',
    apiKey: 10,
    versions: [0, 1, 2],
    kafkajs: (version) =>
      version === 0 ? { groupId: 'group-1' } : { coordinatorKey: 'group-1', coordinatorType: 1 },
    ours: (version) => ({ key: 'group-1', keyType: version === 0 ? 0 : 1 }),
  },
  {
    api: 'joinGroup',
    apiKey: 11,
    versions: [0, 1, 2, 3, 4, 5],
    kafkajs: () => ({
      groupId: 'group-1',
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      memberId: '',
      groupInstanceId: 'instance-1',
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: metadataBytes }],
    }),
    ours: () => ({
      groupId: 'group-1',
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 60000,
      memberId: '',
      groupInstanceId: 'instance-1',
      protocolType: 'consumer',
      protocols: [{ name: 'RoundRobinAssigner', metadata: metadataBytes }],
    }),
  },
  {
    api: 'heartbeat',
    apiKey: 12,
    versions: [0, 1, 2, 3],
    kafkajs: () => ({
      groupId: 'group-1',
      groupGenerationId: 3,
      memberId: 'member-1',
      groupInstanceId: null,
    }),
    ours: () => ({ groupId: 'group-1', generationId: 3, memberId: 'member-1', groupInstanceId: null }),
  },
  {
    api: 'leaveGroup',
    apiKey: 13,
    versions: [0, 1, 2, 3],
    kafkajs: (version) =>
      version < 3
        ? { groupId: 'group-1', memberId: 'member-1' }
        : { groupId: 'group-1', members: [{ memberId: 'member-1', groupInstanceId: 'instance-1' }] },
    ours: () => ({
      groupId: 'group-1',
      memberId: 'member-1',
      members: [{ memberId: 'member-1', groupInstanceId: 'instance-1' }],
    }),
  },
  {
    api: 'syncGroup',
    apiKey: 14,
    versions: [0, 1, 2, 3],
    kafkajs: () => ({
      groupId: 'group-1',
      generationId: 3,
      memberId: 'member-1',
      groupInstanceId: null,
      groupAssignment: [{ memberId: 'member-1', memberAssignment: assignmentBytes }],
    }),
    ours: () => ({
      groupId: 'group-1',
      generationId: 3,
      memberId: 'member-1',
      groupInstanceId: null,
      assignments: [{ memberId: 'member-1', assignment: assignmentBytes }],
    }),
  },
  {
    api: 'describeGroups',
    apiKey: 15,
    versions: [0, 1, 2],
    kafkajs: () => ({ groupIds: ['group-1', 'group-2'] }),
    ours: () => ({ groups: ['group-1', 'group-2'], includeAuthorizedOperations: false }),
  },
  { api: 'listGroups', apiKey: 16, versions: [0, 1, 2], kafkajs: () => ({}), ours: () => ({}) },
  {
    api: 'saslHandshake',
    apiKey: 17,
    versions: [0, 1],
    kafkajs: () => ({ mechanism: 'SCRAM-SHA-256' }),
    ours: () => ({ mechanism: 'SCRAM-SHA-256' }),
  },
  {
    api: 'initProducerId',
    apiKey: 22,
    versions: [0, 1],
    kafkajs: () => ({ transactionalId: 'tx-1', transactionTimeout: 60000 }),
    ours: () => ({ transactionalId: 'tx-1', transactionTimeoutMs: 60000 }),
  },
  {
    api: 'offsetCommit',
    apiKey: 8,
    versions: [0, 1, 2, 3, 4, 5],
    kafkajs: () => ({
      groupId: 'group-1',
      groupGenerationId: 3,
      memberId: 'member-1',
      retentionTime: 86400000,
      topics: [
        {
          topic: 'alpha',
          partitions: [{ partition: 0, offset: '42', timestamp: 1700000000000, metadata: 'm' }],
        },
      ],
    }),
    ours: () => ({
      groupId: 'group-1',
      generationId: 3,
      memberId: 'member-1',
      groupInstanceId: null,
      retentionTimeMs: 86400000,
      topics: [
        {
          name: 'alpha',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 42,
              committedLeaderEpoch: -1,
              commitTimestamp: 1700000000000,
              committedMetadata: 'm',
            },
          ],
        },
      ],
    }),
  },
  {
    api: 'offsetFetch',
    apiKey: 9,
    versions: [1, 2, 3, 4],
    kafkajs: () => ({
      groupId: 'group-1',
      topics: [{ topic: 'alpha', partitions: [{ partition: 0 }, { partition: 2 }] }],
    }),
    ours: () => ({ groupId: 'group-1', topics: [{ name: 'alpha', partitionIndexes: [0, 2] }] }),
  },
];

for (const { api, apiKey, versions, kafkajs, ours } of cases) {
  for (const version of versions) {
    test(`${api} v${version} request: kafkajs bytes decode to the expected object and our encoder writes the same bytes`, async (t) => {
      const golden = await kafkajsRequestBody(api, version, kafkajs(version));
      const frame = requestFrame(apiKey, version, golden);
      const header = decodeRequestHeader(frame);
      t.like(header, { apiKey, apiVersion: version, correlationId: 7, clientId: 'oracle' });
      const decoded = decodeRequestBody(apiKey, version, frame, header.bodyOffset);
      t.deepEqual(decoded, projectToVersion(requestFields(apiKey), version, ours(version)));

      const encoded = encodeRequest(
        { apiKey, apiVersion: version, correlationId: 7, clientId: 'oracle' },
        ours(version),
      );
      t.is(encoded.readInt32BE(0), encoded.length - 4);
      t.deepEqual(encoded.subarray(4), frame);
    });
  }
}

// Produce: kafkajs builds the record batches itself; our codec keeps them as opaque bytes.
for (const version of [0, 1, 2, 3, 4, 5, 6, 7]) {
  test(`produce v${version} request: kafkajs bytes decode with records untouched and re-encode to the same bytes`, async (t) => {
    const golden = await kafkajsRequestBody('produce', version, {
      acks: -1,
      timeout: 30000,
      transactionalId: null,
      topicData: [
        {
          topic: 'alpha',
          partitions: [
            {
              partition: 2,
              messages: [
                { key: 'k1', value: 'v1', timestamp: 1700000000000, headers: { trace: 'abc' } },
                { key: null, value: 'v2', timestamp: 1700000000005 },
              ],
            },
          ],
        },
      ],
    });
    const frame = requestFrame(0, version, golden);
    const header = decodeRequestHeader(frame);
    const decoded = decodeRequestBody(0, version, frame, header.bodyOffset);
    t.like(decoded, { acks: -1, timeoutMs: 30000 });
    t.is(decoded.topicData.length, 1);
    t.is(decoded.topicData[0].name, 'alpha');
    t.is(decoded.topicData[0].partitionData[0].index, 2);
    const records: Buffer = decoded.topicData[0].partitionData[0].records;
    t.true(records.length > 20);
    if (version >= 3) {
      t.is(decoded.transactionalId, null);
      const [batch] = decodeRecordBatches(records);
      t.deepEqual(
        batch!.records.map((record) => [
          record.key?.toString() ?? null,
          record.value?.toString(),
          record.timestamp,
        ]),
        [
          ['k1', 'v1', 1700000000000],
          [null, 'v2', 1700000000005],
        ],
      );
      t.deepEqual(
        batch!.records[0]!.headers.map((h) => [h.key, h.value?.toString()]),
        [['trace', 'abc']],
      );
    } else {
      t.false('transactionalId' in decoded);
    }
    const encoded = encodeRequest(
      { apiKey: 0, apiVersion: version, correlationId: 7, clientId: 'oracle' },
      decoded,
    );
    t.deepEqual(encoded.subarray(4), frame);
  });
}
