/**
 * The golden cases given to the Java generator: for every flexible version the broker serves
 * (and one non-flexible version of the hot paths), a request and a response body per API,
 * written in the Java converters' JSON form with every field of the version filled in.
 *
 *   npx tsx interop/java-fixtures/cases.ts > interop/java-fixtures/cases.json
 *   (cd interop/java-fixtures && mvn -q compile exec:java \
 *      -Dexec.args="cases.json ../../__test__/protocol/fixtures/java-golden.json")
 */
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { schemaFor } from '../../src/protocol/schemas/index.js';
import { SERVED_APIS } from '../../src/protocol/versions.js';
import { JAVA_NAMES, toJava } from '../../__test__/protocol/java-json.js';

const batch = encodeRecordBatch({
  baseOffset: 0,
  baseTimestamp: 1_700_000_000_000,
  records: [
    { key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [] },
    { key: null, value: Buffer.from('second'), headers: [{ key: 'h', value: Buffer.from('x') }] },
  ],
});

const TOPIC_ID = '8d5a1c0e4f6b4a1e9b3c2d7e6f5a4b3c';
const node = { nodeId: 2, host: 'broker-2.example', port: 9092, rack: 'rack-b' };

/** Request and response bodies per API key: a superset of fields over versions. */
const BODIES: Record<number, { request: object; response: object }> = {
  0: {
    request: {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [
        {
          name: 'orders',
          topicId: TOPIC_ID,
          partitionData: [
            { index: 0, records: batch },
            { index: 1, records: null },
          ],
        },
      ],
    },
    response: {
      responses: [
        {
          name: 'orders',
          topicId: TOPIC_ID,
          partitionResponses: [
            { index: 0, errorCode: 0, baseOffset: 42, logAppendTimeMs: -1, logStartOffset: 0 },
            {
              index: 1,
              errorCode: 6,
              baseOffset: -1,
              logStartOffset: -1,
              recordErrors: [{ batchIndex: 0, batchIndexErrorMessage: 'bad record' }],
              errorMessage: 'not the leader',
              currentLeader: { leaderId: 2, leaderEpoch: 7 },
            },
          ],
        },
      ],
      throttleTimeMs: 5,
      nodeEndpoints: [node],
    },
  },
  1: {
    request: {
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 52428800,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'orders',
          topicId: TOPIC_ID,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: 3,
              fetchOffset: 100,
              lastFetchedEpoch: 3,
              logStartOffset: -1,
              partitionMaxBytes: 1048576,
              highWatermark: 90,
            },
          ],
        },
      ],
      forgottenTopicsData: [{ topic: 'old', topicId: TOPIC_ID, partitions: [1, 2] }],
      rackId: 'rack-a',
    },
    response: {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 77,
      responses: [
        {
          topic: 'orders',
          topicId: TOPIC_ID,
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 102,
              lastStableOffset: 102,
              logStartOffset: 0,
              abortedTransactions: null,
              preferredReadReplica: -1,
              records: batch,
            },
            {
              partitionIndex: 1,
              errorCode: 6,
              highWatermark: -1,
              lastStableOffset: -1,
              logStartOffset: -1,
              abortedTransactions: null,
              preferredReadReplica: -1,
              currentLeader: { leaderId: 2, leaderEpoch: 7 },
              records: Buffer.alloc(0),
            },
            {
              partitionIndex: 2,
              errorCode: 0,
              highWatermark: 50,
              lastStableOffset: 50,
              logStartOffset: 0,
              abortedTransactions: null,
              preferredReadReplica: -1,
              divergingEpoch: { epoch: 4, endOffset: 40 },
              records: Buffer.alloc(0),
            },
          ],
        },
      ],
      nodeEndpoints: [node],
    },
  },
  2: {
    request: {
      replicaId: -1,
      isolationLevel: 1,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, currentLeaderEpoch: 3, timestamp: -1 },
            { partitionIndex: 1, currentLeaderEpoch: -1, timestamp: 1_700_000_000_000 },
          ],
        },
      ],
      timeoutMs: 5000,
    },
    response: {
      throttleTimeMs: 0,
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, errorCode: 0, timestamp: -1, offset: 100, leaderEpoch: 3 }],
        },
      ],
    },
  },
  3: {
    request: { topics: [{ name: 'orders', topicId: TOPIC_ID }], allowAutoTopicCreation: false },
    response: {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: 'broker-1.example', port: 9092, rack: null }, node],
      clusterId: 'cluster-x',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          topicId: TOPIC_ID,
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 1,
              leaderEpoch: 3,
              replicaNodes: [1, 2],
              isrNodes: [1, 2],
              offlineReplicas: [],
            },
          ],
          topicAuthorizedOperations: -2147483648,
        },
      ],
      clusterAuthorizedOperations: -2147483648,
    },
  },
  8: {
    request: {
      groupId: 'group-1',
      generationId: 4,
      memberId: 'member-1',
      groupInstanceId: null,
      topics: [
        {
          name: 'orders',
          topicId: TOPIC_ID,
          partitions: [{ partitionIndex: 0, committedOffset: 100, committedLeaderEpoch: 3, committedMetadata: 'm' }],
        },
      ],
    },
    response: {
      throttleTimeMs: 0,
      topics: [{ name: 'orders', topicId: TOPIC_ID, partitions: [{ partitionIndex: 0, errorCode: 0 }] }],
    },
  },
  9: {
    request: {
      groupId: 'group-1',
      topics: [{ name: 'orders', partitionIndexes: [0, 1] }],
      groups: [
        {
          groupId: 'group-1',
          memberId: 'member-1',
          memberEpoch: 5,
          topics: [{ name: 'orders', topicId: TOPIC_ID, partitionIndexes: [0, 1] }],
        },
        { groupId: 'group-2', memberId: null, memberEpoch: -1, topics: null },
      ],
      requireStable: true,
    },
    response: {
      throttleTimeMs: 0,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, committedOffset: 100, committedLeaderEpoch: 3, metadata: '', errorCode: 0 },
            { partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: null, errorCode: 0 },
          ],
        },
      ],
      errorCode: 0,
      groups: [
        {
          groupId: 'group-1',
          topics: [
            {
              name: 'orders',
              topicId: TOPIC_ID,
              partitions: [
                { partitionIndex: 0, committedOffset: 100, committedLeaderEpoch: 3, metadata: '', errorCode: 0 },
                { partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: null, errorCode: 0 },
              ],
            },
          ],
          errorCode: 0,
        },
        { groupId: 'group-2', topics: [], errorCode: 16 },
      ],
    },
  },
  10: {
    request: { key: 'group-1', keyType: 0, coordinatorKeys: ['group-1', 'group-2'] },
    response: {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      nodeId: 1,
      host: 'broker-1.example',
      port: 9092,
      coordinators: [
        { key: 'group-1', nodeId: 1, host: 'broker-1.example', port: 9092, errorCode: 0, errorMessage: null },
        { key: 'group-2', nodeId: -1, host: '', port: -1, errorCode: 15, errorMessage: 'not available' },
      ],
    },
  },
  11: {
    request: {
      groupId: 'group-1',
      sessionTimeoutMs: 45000,
      rebalanceTimeoutMs: 300000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from([0, 1, 2, 3]) }],
    },
    response: {
      throttleTimeMs: 0,
      errorCode: 0,
      generationId: 1,
      protocolName: 'range',
      leader: 'member-1',
      memberId: 'member-1',
      members: [{ memberId: 'member-1', groupInstanceId: null, metadata: Buffer.from([0, 1, 2, 3]) }],
    },
  },
  12: {
    request: { groupId: 'group-1', generationId: 1, memberId: 'member-1', groupInstanceId: null },
    response: { throttleTimeMs: 0, errorCode: 27 },
  },
  13: {
    request: { groupId: 'group-1', members: [{ memberId: 'member-1', groupInstanceId: null }] },
    response: { throttleTimeMs: 0, errorCode: 0, members: [{ memberId: 'member-1', groupInstanceId: null, errorCode: 0 }] },
  },
  14: {
    request: {
      groupId: 'group-1',
      generationId: 1,
      memberId: 'member-1',
      groupInstanceId: null,
      assignments: [{ memberId: 'member-1', assignment: Buffer.from([9, 8, 7]) }],
    },
    response: { throttleTimeMs: 0, errorCode: 0, assignment: Buffer.from([9, 8, 7]) },
  },
  15: {
    request: { groups: ['group-1'], includeAuthorizedOperations: false },
    response: {
      throttleTimeMs: 0,
      groups: [
        {
          errorCode: 0,
          groupId: 'group-1',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'range',
          members: [
            {
              memberId: 'member-1',
              groupInstanceId: null,
              clientId: 'client-1',
              clientHost: '/127.0.0.1',
              memberMetadata: Buffer.from([1]),
              memberAssignment: Buffer.from([2]),
            },
          ],
          authorizedOperations: -2147483648,
        },
      ],
    },
  },
  16: {
    request: {},
    response: { throttleTimeMs: 0, errorCode: 0, groups: [{ groupId: 'group-1', protocolType: 'consumer' }] },
  },
  18: {
    request: { clientSoftwareName: 'apache-kafka-java', clientSoftwareVersion: '4.1.0' },
    response: {
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 0, maxVersion: 9 },
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
      ],
      throttleTimeMs: 0,
      supportedFeatures: [{ name: 'metadata.version', minVersion: 1, maxVersion: 20 }],
      finalizedFeaturesEpoch: 5,
    },
  },
  19: {
    request: {
      topics: [
        {
          name: 'orders',
          numPartitions: 3,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'retention.ms', value: '60000' }],
        },
      ],
      timeoutMs: 30000,
      validateOnly: false,
    },
    response: {
      throttleTimeMs: 0,
      topics: [
        {
          name: 'orders',
          topicId: TOPIC_ID,
          errorCode: 0,
          errorMessage: null,
          topicConfigErrorCode: 0,
          numPartitions: 3,
          replicationFactor: 1,
          configs: [{ name: 'retention.ms', value: '60000', readOnly: false, configSource: 1, isSensitive: false }],
        },
        { name: 'bad name', errorCode: 17, errorMessage: 'invalid', topicConfigErrorCode: 40, configs: null },
      ],
    },
  },
  20: {
    request: { topicNames: ['orders', 'gone'], timeoutMs: 30000 },
    response: {
      throttleTimeMs: 0,
      responses: [
        { name: 'orders', errorCode: 0, errorMessage: null },
        { name: 'gone', errorCode: 3, errorMessage: 'unknown topic' },
      ],
    },
  },
  22: {
    request: { transactionalId: null, transactionTimeoutMs: 60000, producerId: 1000, producerEpoch: 2 },
    response: { throttleTimeMs: 0, errorCode: 0, producerId: 1000, producerEpoch: 0 },
  },
  23: {
    request: {
      replicaId: -1,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: 3, leaderEpoch: 2 }] }],
    },
    response: {
      throttleTimeMs: 0,
      topics: [{ topic: 'orders', partitions: [{ errorCode: 0, partition: 0, leaderEpoch: 2, endOffset: 55 }] }],
    },
  },
  32: {
    request: {
      resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: null }],
      includeSynonyms: true,
      includeDocumentation: false,
    },
    response: {
      throttleTimeMs: 0,
      results: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: 'orders',
          configs: [
            {
              name: 'retention.ms',
              value: '60000',
              readOnly: false,
              configSource: 1,
              isSensitive: false,
              synonyms: [{ name: 'retention.ms', value: '60000', source: 1 }],
              configType: 5,
              documentation: null,
            },
          ],
        },
      ],
    },
  },
  42: {
    request: { groupsNames: ['group-1', 'group-2'] },
    response: {
      throttleTimeMs: 0,
      results: [
        { groupId: 'group-1', errorCode: 0 },
        { groupId: 'group-2', errorCode: 68 },
      ],
    },
  },
  21: {
    request: {
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, offset: 42 },
            { partitionIndex: 1, offset: -1 },
          ],
        },
      ],
      timeoutMs: 30000,
    },
    response: {
      throttleTimeMs: 0,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, lowWatermark: 42, errorCode: 0 },
            { partitionIndex: 1, lowWatermark: -1, errorCode: 1 },
          ],
        },
      ],
    },
  },
  35: {
    request: { topics: [{ topic: 'orders', partitions: [0, 1] }] },
    response: {
      throttleTimeMs: 0,
      errorCode: 0,
      results: [
        {
          errorCode: 0,
          logDir: '/var/lib/goqueue',
          topics: [
            {
              name: 'orders',
              partitions: [
                { partitionIndex: 0, partitionSize: 123456, offsetLag: 0, isFutureKey: false },
                { partitionIndex: 1, partitionSize: 0, offsetLag: 3, isFutureKey: false },
              ],
            },
          ],
          totalBytes: 1000000000,
          usableBytes: 500000000,
        },
      ],
    },
  },
  43: {
    request: {
      electionType: 0,
      topicPartitions: [{ topic: 'orders', partitions: [0, 2] }],
      timeoutMs: 30000,
    },
    response: {
      throttleTimeMs: 0,
      errorCode: 0,
      replicaElectionResults: [
        {
          topic: 'orders',
          partitionResult: [
            { partitionId: 0, errorCode: 0, errorMessage: null },
            { partitionId: 2, errorCode: 84, errorMessage: 'already led by its preferred replica' },
          ],
        },
      ],
    },
  },
  45: {
    request: {
      timeoutMs: 30000,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, replicas: [4, 2, 1] },
            { partitionIndex: 1, replicas: null },
          ],
        },
      ],
    },
    response: {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      responses: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, errorCode: 0, errorMessage: null },
            { partitionIndex: 1, errorCode: 85, errorMessage: 'no reassignment in progress' },
          ],
        },
      ],
    },
  },
  46: {
    request: { timeoutMs: 30000, topics: [{ name: 'orders', partitionIndexes: [0, 1] }] },
    response: {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, replicas: [4, 2, 1, 3], addingReplicas: [4], removingReplicas: [3] }],
        },
      ],
    },
  },
  60: {
    request: { includeClusterAuthorizedOperations: false, endpointType: 1 },
    response: {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      endpointType: 1,
      clusterId: 'cluster-x',
      controllerId: 1,
      brokers: [
        { brokerId: 1, host: 'broker-1.example', port: 9092, rack: null },
        { brokerId: 2, host: 'broker-2.example', port: 9092, rack: 'rack-b' },
      ],
      clusterAuthorizedOperations: -2147483648,
    },
  },
  37: {
    request: {
      topics: [{ name: 'orders', count: 6, assignments: null }],
      timeoutMs: 30000,
      validateOnly: false,
    },
    response: { throttleTimeMs: 0, results: [{ name: 'orders', errorCode: 0, errorMessage: null }] },
  },
  33: {
    request: {
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          configs: [
            { name: 'retention.ms', value: '60000' },
            { name: 'cleanup.policy', value: null },
          ],
        },
        { resourceType: 4, resourceName: '', configs: [] },
      ],
      validateOnly: true,
    },
    response: {
      throttleTimeMs: 0,
      responses: [
        { errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders' },
        { errorCode: 40, errorMessage: 'unknown broker config x', resourceType: 4, resourceName: '1' },
      ],
    },
  },
  44: {
    request: {
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          configs: [
            { name: 'retention.ms', configOperation: 0, value: '60000' },
            { name: 'max.message.bytes', configOperation: 1, value: null },
            { name: 'cleanup.policy', configOperation: 2, value: 'delete' },
          ],
        },
      ],
      validateOnly: false,
    },
    response: {
      throttleTimeMs: 3,
      responses: [
        { errorCode: 3, errorMessage: 'no topic orders', resourceType: 2, resourceName: 'orders' },
        { errorCode: 0, errorMessage: null, resourceType: 4, resourceName: '' },
      ],
    },
  },
};

/** Non-flexible versions checked too: the hot paths' newest non-flexible ones. */
const EXTRA_VERSIONS: Record<number, number[]> = { 0: [8], 1: [11] };

const cases: object[] = [];
let correlationId = 1000;
for (const api of SERVED_APIS) {
  const schema = schemaFor(api.apiKey)!;
  const bodies = BODIES[api.apiKey];
  if (bodies === undefined || schema.flexibleFrom === undefined) continue;
  const versions = [...(EXTRA_VERSIONS[api.apiKey] ?? [])];
  for (let version = Math.max(schema.flexibleFrom, api.minVersion); version <= api.maxVersion; version++)
    versions.push(version);
  for (const version of versions) {
    const flexible = version >= schema.flexibleFrom;
    for (const kind of ['request', 'response'] as const) {
      const fields = kind === 'request' ? schema.request : schema.response;
      cases.push({
        name: schema.name,
        apiKey: api.apiKey,
        version,
        kind,
        correlationId: correlationId++,
        clientId: 'golden',
        body: toJava(fields, version, flexible, bodies[kind] as Record<string, unknown>, JAVA_NAMES[api.apiKey]),
      });
    }
  }
}
process.stdout.write(`${JSON.stringify(cases, null, 1)}\n`);
