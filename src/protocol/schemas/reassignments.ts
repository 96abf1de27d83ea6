import { type ApiSchema, arrayField, field } from '../schema.js';

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
    arrayField(
      'replicaElectionResults',
      [
        field('topic', 'string', '0+'),
        arrayField(
          'partitionResult',
          [
            field('partitionId', 'int32', '0+'),
            field('errorCode', 'int16', '0+'),
            field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
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
    field('throttleTimeMs', 'int32', '0+', { default: 0 }),
    field('errorCode', 'int16', '0+', { default: 0 }),
    field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
    arrayField(
      'responses',
      [
        field('name', 'string', '0+'),
        arrayField(
          'partitions',
          [
            field('partitionIndex', 'int32', '0+'),
            field('errorCode', 'int16', '0+'),
            field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
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
    field('throttleTimeMs', 'int32', '0+', { default: 0 }),
    field('errorCode', 'int16', '0+', { default: 0 }),
    field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
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
