import { type ApiSchema, arrayField, type Field, field } from '../schema.js';

/** Per-partition outcomes, `[{ topic, [{ partition, errorCode, errorMessage }] }]`, with each
 * API's own field names. */
function partitionResults(names: {
  list: string;
  topic: string;
  partitions: string;
  partition: string;
}): Field {
  return arrayField(
    names.list,
    [
      field(names.topic, 'string', '0+'),
      arrayField(
        names.partitions,
        [
          field(names.partition, 'int32', '0+'),
          field('errorCode', 'int16', '0+'),
          field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
        ],
        '0+',
      ),
    ],
    '0+',
  );
}

/** The head of both KIP-455 responses. */
const KIP455_RESPONSE_HEAD: readonly Field[] = [
  field('throttleTimeMs', 'int32', '0+', { default: 0 }),
  field('errorCode', 'int16', '0+', { default: 0 }),
  field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
];

/**
 * ElectLeaders (43): ElectLeadersRequest.json / ElectLeadersResponse.json, versions 0-2 (2+
 * flexible). v1 adds the election type (KIP-460: 0 = preferred, 1 = unclean) and the top-level
 * error code. A null topic list means every partition.
 */
export const ElectLeaders: ApiSchema = {
  apiKey: 43,
  name: 'ElectLeaders',
  versions: [0, 2],
  flexibleFrom: 2,
  request: [
    field('electionType', 'int8', '1+', { default: 0 }),
    arrayField(
      'topicPartitions',
      [field('topic', 'string', '0+'), arrayField('partitions', 'int32', '0+')],
      '0+',
      { nullable: '0+', default: null },
    ),
    field('timeoutMs', 'int32', '0+', { default: 60_000 }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+', { default: 0 }),
    field('errorCode', 'int16', '1+', { default: 0 }),
    partitionResults({
      list: 'replicaElectionResults',
      topic: 'topic',
      partitions: 'partitionResult',
      partition: 'partitionId',
    }),
  ],
};

/**
 * AlterPartitionReassignments (45): KIP-455, version 0 (flexible). Per partition, `replicas` is
 * the target replica list (first = preferred leader) or null to cancel the move in progress.
 */
export const AlterPartitionReassignments: ApiSchema = {
  apiKey: 45,
  name: 'AlterPartitionReassignments',
  versions: [0, 0],
  flexibleFrom: 0,
  request: [
    field('timeoutMs', 'int32', '0+', { default: 60_000 }),
    arrayField(
      'topics',
      [
        field('name', 'string', '0+'),
        arrayField(
          'partitions',
          [
            field('partitionIndex', 'int32', '0+'),
            arrayField('replicas', 'int32', '0+', { nullable: '0+', default: null }),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
  response: [
    ...KIP455_RESPONSE_HEAD,
    partitionResults({
      list: 'responses',
      topic: 'name',
      partitions: 'partitions',
      partition: 'partitionIndex',
    }),
  ],
};

/**
 * ListPartitionReassignments (46): KIP-455, version 0 (flexible). A null topic list means every
 * partition with a move in progress.
 */
export const ListPartitionReassignments: ApiSchema = {
  apiKey: 46,
  name: 'ListPartitionReassignments',
  versions: [0, 0],
  flexibleFrom: 0,
  request: [
    field('timeoutMs', 'int32', '0+', { default: 60_000 }),
    arrayField(
      'topics',
      [field('name', 'string', '0+'), arrayField('partitionIndexes', 'int32', '0+')],
      '0+',
      { nullable: '0+', default: null },
    ),
  ],
  response: [
    ...KIP455_RESPONSE_HEAD,
    arrayField(
      'topics',
      [
        field('name', 'string', '0+'),
        arrayField(
          'partitions',
          [
            field('partitionIndex', 'int32', '0+'),
            arrayField('replicas', 'int32', '0+'),
            arrayField('addingReplicas', 'int32', '0+'),
            arrayField('removingReplicas', 'int32', '0+'),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
};
