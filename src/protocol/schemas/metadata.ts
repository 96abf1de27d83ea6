import { type ApiSchema, arrayField, field } from '../schema.js';

const AUTHORIZED_OPERATIONS_UNKNOWN = -2147483648;

/**
 * Metadata (3): MetadataRequest.json / MetadataResponse.json, versions 0-13 (9+ flexible).
 * In v0 an empty `topics` means every topic; from v1 on, null means every topic. v10 adds topic
 * ids (a request may name a topic by id with a null name), v12 a null name in answers to those,
 * v13 a top-level error code.
 */
export const Metadata: ApiSchema = {
  apiKey: 3,
  name: 'Metadata',
  versions: [0, 13],
  flexibleFrom: 9,
  request: [
    arrayField(
      'topics',
      [field('topicId', 'uuid', '10+'), field('name', 'string', '0+', { nullable: '10+' })],
      '0+',
      { nullable: '1+' },
    ),
    field('allowAutoTopicCreation', 'bool', '4+', { default: true }),
    field('includeClusterAuthorizedOperations', 'bool', '8-10', { default: false }),
    field('includeTopicAuthorizedOperations', 'bool', '8+', { default: false }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '3+', { default: 0 }),
    arrayField(
      'brokers',
      [
        field('nodeId', 'int32', '0+'),
        field('host', 'string', '0+'),
        field('port', 'int32', '0+'),
        field('rack', 'string', '1+', { nullable: '1+', default: null }),
      ],
      '0+',
    ),
    field('clusterId', 'string', '2+', { nullable: '2+', default: null }),
    field('controllerId', 'int32', '1+', { default: -1 }),
    arrayField(
      'topics',
      [
        field('errorCode', 'int16', '0+'),
        field('name', 'string', '0+', { nullable: '12+' }),
        field('topicId', 'uuid', '10+'),
        field('isInternal', 'bool', '1+', { default: false }),
        arrayField(
          'partitions',
          [
            field('errorCode', 'int16', '0+'),
            field('partitionIndex', 'int32', '0+'),
            field('leaderId', 'int32', '0+'),
            field('leaderEpoch', 'int32', '7+', { default: -1 }),
            arrayField('replicaNodes', 'int32', '0+'),
            arrayField('isrNodes', 'int32', '0+'),
            arrayField('offlineReplicas', 'int32', '5+'),
          ],
          '0+',
        ),
        field('topicAuthorizedOperations', 'int32', '8+', { default: AUTHORIZED_OPERATIONS_UNKNOWN }),
      ],
      '0+',
    ),
    field('clusterAuthorizedOperations', 'int32', '8-10', { default: AUTHORIZED_OPERATIONS_UNKNOWN }),
    field('errorCode', 'int16', '13+', { default: 0 }),
  ],
};
