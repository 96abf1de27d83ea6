/**
 * Hand-written golden bytes for versions kafkajs does not implement (it stops at Metadata 6,
 * Produce 7, ListOffsets 3, OffsetCommit 5, and has no OffsetForLeaderEpoch). Each fixture is
 * written from the protocol guide's field list, one line per field, and checked both ways.
 */
import test from 'ava';
import {
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../src/protocol/index.js';

interface Fixture {
  title: string;
  apiKey: number;
  version: number;
  direction: 'request' | 'response';
  /** Body bytes, one field per line. */
  hex: string[];
  body: Record<string, unknown>;
}

const fixtures: Fixture[] = [
  {
    title: 'Metadata v8 request',
    apiKey: 3,
    version: 8,
    direction: 'request',
    hex: [
      '00000001 0001 74', // topics: [{ name: "t" }]
      '01', // allowAutoTopicCreation
      '00', // includeClusterAuthorizedOperations
      '01', // includeTopicAuthorizedOperations
    ],
    body: {
      topics: [{ name: 't' }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: true,
    },
  },
  {
    title: 'Metadata v8 request for every topic (null array)',
    apiKey: 3,
    version: 8,
    direction: 'request',
    hex: ['ffffffff', '00', '00', '00'],
    body: {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    },
  },
  {
    title: 'Metadata v8 response',
    apiKey: 3,
    version: 8,
    direction: 'response',
    hex: [
      '00000000', // throttleTimeMs
      '00000001', // brokers: 1
      '00000001 0001 68 00002384 ffff', // nodeId 1, host "h", port 9092, rack null
      '0001 63', // clusterId "c"
      '00000001', // controllerId
      '00000001', // topics: 1
      '0000 0001 74 00', // errorCode, name "t", isInternal
      '00000001', // partitions: 1
      '0000 00000000 00000001 00000005', // errorCode, partitionIndex, leaderId, leaderEpoch
      '00000001 00000001', // replicaNodes [1]
      '00000001 00000001', // isrNodes [1]
      '00000000', // offlineReplicas []
      '80000000', // topicAuthorizedOperations
      '80000000', // clusterAuthorizedOperations
    ],
    body: {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
      clusterId: 'c',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 't',
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 1,
              leaderEpoch: 5,
              replicaNodes: [1],
              isrNodes: [1],
              offlineReplicas: [],
            },
          ],
          topicAuthorizedOperations: -2147483648,
        },
      ],
      clusterAuthorizedOperations: -2147483648,
    },
  },
  {
    title: 'Produce v8 request',
    apiKey: 0,
    version: 8,
    direction: 'request',
    hex: [
      '0002 7478', // transactionalId "tx"
      'ffff', // acks -1
      '00007530', // timeoutMs 30000
      '00000001 0001 74', // topicData: [{ name "t"
      '00000001 00000003', //   partitionData: [{ index 3
      '00000003 abcdef', //     records (3 opaque bytes) }] }]
    ],
    body: {
      transactionalId: 'tx',
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: 't', partitionData: [{ index: 3, records: Buffer.from('abcdef', 'hex') }] }],
    },
  },
  {
    title: 'Produce v8 response with a record error',
    apiKey: 0,
    version: 8,
    direction: 'response',
    hex: [
      '00000001 0001 74', // responses: [{ name "t"
      '00000001 00000000 0057', //   partitionResponses: [{ index 0, errorCode 87 (INVALID_RECORD)
      '0000000000000005', //     baseOffset
      'ffffffffffffffff', //     logAppendTimeMs -1
      '0000000000000000', //     logStartOffset
      '00000001 00000001 0003 626164', //     recordErrors [{ batchIndex 1, message "bad" }]
      'ffff', //     errorMessage null }] }]
      '00000000', // throttleTimeMs
    ],
    body: {
      responses: [
        {
          name: 't',
          partitionResponses: [
            {
              index: 0,
              errorCode: 87,
              baseOffset: 5,
              logAppendTimeMs: -1,
              logStartOffset: 0,
              recordErrors: [{ batchIndex: 1, batchIndexErrorMessage: 'bad' }],
              errorMessage: null,
            },
          ],
        },
      ],
      throttleTimeMs: 0,
    },
  },
  {
    title: 'ListOffsets v5 request',
    apiKey: 2,
    version: 5,
    direction: 'request',
    hex: [
      'ffffffff', // replicaId
      '01', // isolationLevel READ_COMMITTED
      '00000001 0001 74', // topics: [{ name "t"
      '00000001 00000002 00000007 ffffffffffffffff', //   partitions [{ 2, currentLeaderEpoch 7, timestamp -1 }] }]
    ],
    body: {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 2, currentLeaderEpoch: 7, timestamp: -1 }] }],
    },
  },
  {
    title: 'ListOffsets v5 response',
    apiKey: 2,
    version: 5,
    direction: 'response',
    hex: [
      '00000000', // throttleTimeMs
      '00000001 0001 74', // topics: [{ name "t"
      '00000001 00000002 0000', //   partitions [{ 2, errorCode 0
      'ffffffffffffffff 000000000000002a 00000007', //     timestamp -1, offset 42, leaderEpoch 7 }] }]
    ],
    body: {
      throttleTimeMs: 0,
      topics: [
        {
          name: 't',
          partitions: [{ partitionIndex: 2, errorCode: 0, timestamp: -1, offset: 42, leaderEpoch: 7 }],
        },
      ],
    },
  },
  {
    title: 'OffsetForLeaderEpoch v2 request',
    apiKey: 23,
    version: 2,
    direction: 'request',
    hex: ['00000001 0001 74', '00000001 00000000 00000003 00000002'],
    body: { topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: 3, leaderEpoch: 2 }] }] },
  },
  {
    title: 'OffsetForLeaderEpoch v3 request (replicaId first)',
    apiKey: 23,
    version: 3,
    direction: 'request',
    hex: ['fffffffe', '00000001 0001 74', '00000001 00000000 00000003 00000002'],
    body: {
      replicaId: -2,
      topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: 3, leaderEpoch: 2 }] }],
    },
  },
  {
    title: 'OffsetForLeaderEpoch v2 response',
    apiKey: 23,
    version: 2,
    direction: 'response',
    hex: ['00000000', '00000001 0001 74', '00000001 0000 00000000 00000002 0000000000000064'],
    body: {
      throttleTimeMs: 0,
      topics: [{ topic: 't', partitions: [{ errorCode: 0, partition: 0, leaderEpoch: 2, endOffset: 100 }] }],
    },
  },
  {
    title: 'OffsetCommit v7 request',
    apiKey: 8,
    version: 7,
    direction: 'request',
    hex: [
      '0001 67', // groupId "g"
      '00000001', // generationId
      '0001 6d', // memberId "m"
      'ffff', // groupInstanceId null
      '00000001 0001 74', // topics: [{ name "t"
      '00000001 00000000 000000000000000a ffffffff ffff', //   [{ 0, offset 10, leaderEpoch -1, metadata null }] }]
    ],
    body: {
      groupId: 'g',
      generationId: 1,
      memberId: 'm',
      groupInstanceId: null,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 10, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    },
  },
  {
    title: 'OffsetFetch v5 response',
    apiKey: 9,
    version: 5,
    direction: 'response',
    hex: [
      '00000000', // throttleTimeMs
      '00000001 0001 74', // topics: [{ name "t"
      '00000001 00000000 000000000000000a 00000004 0000 0000', //   [{ 0, offset 10, epoch 4, metadata "", errorCode 0 }] }]
      '0000', // errorCode
    ],
    body: {
      throttleTimeMs: 0,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 10, committedLeaderEpoch: 4, metadata: '', errorCode: 0 },
          ],
        },
      ],
      errorCode: 0,
    },
  },
  {
    title: 'DeleteTopics v3 request',
    apiKey: 20,
    version: 3,
    direction: 'request',
    hex: ['00000002 0001 61 0001 62', '00001388'],
    body: { topicNames: ['a', 'b'], timeoutMs: 5000 },
  },
  {
    title: 'CreateTopics v4 response',
    apiKey: 19,
    version: 4,
    direction: 'response',
    hex: ['00000000', '00000001 0001 74 0024 0006 657869737473'],
    body: { throttleTimeMs: 0, topics: [{ name: 't', errorCode: 36, errorMessage: 'exists' }] },
  },
  {
    title: 'DescribeGroups v4 response (groupInstanceId, authorizedOperations)',
    apiKey: 15,
    version: 4,
    direction: 'response',
    hex: [
      '00000000', // throttleTimeMs
      '00000001 0000 0001 67 0006 537461626c65 0008 636f6e73756d6572 0002 7272', // group g Stable consumer rr
      '00000001 0001 6d 0001 69 0001 63 0001 68 00000000 00000001 ff', // member m, instance i, client c, host h
      '00000000', // authorizedOperations 0
    ],
    body: {
      throttleTimeMs: 0,
      groups: [
        {
          errorCode: 0,
          groupId: 'g',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'rr',
          members: [
            {
              memberId: 'm',
              groupInstanceId: 'i',
              clientId: 'c',
              clientHost: 'h',
              memberMetadata: Buffer.alloc(0),
              memberAssignment: Buffer.from([0xff]),
            },
          ],
          authorizedOperations: 0,
        },
      ],
    },
  },
];

function bytes(lines: string[]): Buffer {
  return Buffer.from(lines.join('').replaceAll(' ', ''), 'hex');
}

for (const fixture of fixtures) {
  test(`${fixture.title}: the golden bytes decode to the object and the object encodes to them`, (t) => {
    const golden = bytes(fixture.hex);
    if (fixture.direction === 'request') {
      const header = {
        apiKey: fixture.apiKey,
        apiVersion: fixture.version,
        correlationId: 11,
        clientId: null,
      };
      const encoded = encodeRequest(header, fixture.body);
      const frame = encoded.subarray(4);
      const { bodyOffset } = decodeRequestHeader(frame);
      t.deepEqual(frame.subarray(bodyOffset), golden);
      t.deepEqual(decodeRequestBody(fixture.apiKey, fixture.version, frame, bodyOffset), fixture.body);
    } else {
      const encoded = encodeResponse(fixture.apiKey, fixture.version, 11, fixture.body);
      t.deepEqual(encoded.subarray(8), golden);
      t.deepEqual(decodeResponse(fixture.apiKey, fixture.version, encoded.subarray(4)).body, fixture.body);
    }
  });
}
