import { type ApiSchema, arrayField, field } from '../schema.js';

/** CreateTopics (19): versions 0-7 (5+ flexible; v5 answers each topic's partitions,
 * replication factor and configs; v6 may answer THROTTLING_QUOTA_EXCEEDED; v7 the topic's id). */
export const CreateTopics: ApiSchema = {
  apiKey: 19,
  name: 'CreateTopics',
  versions: [0, 7],
  flexibleFrom: 5,
  request: [
    arrayField(
      'topics',
      [
        field('name', 'string', '0+'),
        field('numPartitions', 'int32', '0+'),
        field('replicationFactor', 'int16', '0+'),
        arrayField(
          'assignments',
          [field('partitionIndex', 'int32', '0+'), arrayField('brokerIds', 'int32', '0+')],
          '0+',
        ),
        arrayField(
          'configs',
          [field('name', 'string', '0+'), field('value', 'string', '0+', { nullable: '0+' })],
          '0+',
        ),
      ],
      '0+',
    ),
    field('timeoutMs', 'int32', '0+', { default: 60000 }),
    field('validateOnly', 'bool', '1+', { default: false }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '2+', { default: 0 }),
    arrayField(
      'topics',
      [
        field('name', 'string', '0+'),
        field('topicId', 'uuid', '7+'),
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '1+', { nullable: '0+', default: null }),
        field('topicConfigErrorCode', 'int16', '5+', { tag: 0, default: 0 }),
        field('numPartitions', 'int32', '5+', { default: -1 }),
        field('replicationFactor', 'int16', '5+', { default: -1 }),
        arrayField(
          'configs',
          [
            field('name', 'string', '5+'),
            field('value', 'string', '5+', { nullable: '5+' }),
            field('readOnly', 'bool', '5+'),
            field('configSource', 'int8', '5+', { default: -1 }),
            field('isSensitive', 'bool', '5+'),
          ],
          '5+',
          { nullable: '5+', default: null },
        ),
      ],
      '0+',
    ),
  ],
};

/** DeleteTopics (20): versions 0-5 (4+ flexible; 6+ names topics by id, not described). */
export const DeleteTopics: ApiSchema = {
  apiKey: 20,
  name: 'DeleteTopics',
  versions: [0, 5],
  flexibleFrom: 4,
  request: [arrayField('topicNames', 'string', '0-5'), field('timeoutMs', 'int32', '0+')],
  response: [
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
    arrayField(
      'responses',
      [
        field('name', 'string', '0+'),
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '5+', { nullable: '5+', default: null }),
      ],
      '0+',
    ),
  ],
};

/** CreatePartitions (37): versions 0-3 (2+ flexible; v3 is v2). `count` is the new total. */
export const CreatePartitions: ApiSchema = {
  apiKey: 37,
  name: 'CreatePartitions',
  versions: [0, 3],
  flexibleFrom: 2,
  request: [
    arrayField(
      'topics',
      [
        field('name', 'string', '0+'),
        field('count', 'int32', '0+'),
        arrayField('assignments', [arrayField('brokerIds', 'int32', '0+')], '0+', {
          nullable: '0+',
          default: null,
        }),
      ],
      '0+',
    ),
    field('timeoutMs', 'int32', '0+'),
    field('validateOnly', 'bool', '0+', { default: false }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+', { default: 0 }),
    arrayField(
      'results',
      [
        field('name', 'string', '0+'),
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
      ],
      '0+',
    ),
  ],
};

/** DescribeConfigs (32): versions 0-4 (4+ flexible; v3 adds config types and documentation). */
export const DescribeConfigs: ApiSchema = {
  apiKey: 32,
  name: 'DescribeConfigs',
  versions: [0, 4],
  flexibleFrom: 4,
  request: [
    arrayField(
      'resources',
      [
        field('resourceType', 'int8', '0+'),
        field('resourceName', 'string', '0+'),
        arrayField('configurationKeys', 'string', '0+', { nullable: '0+', default: null }),
      ],
      '0+',
    ),
    field('includeSynonyms', 'bool', '1+', { default: false }),
    field('includeDocumentation', 'bool', '3+', { default: false }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+', { default: 0 }),
    arrayField(
      'results',
      [
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
        field('resourceType', 'int8', '0+'),
        field('resourceName', 'string', '0+'),
        arrayField(
          'configs',
          [
            field('name', 'string', '0+'),
            field('value', 'string', '0+', { nullable: '0+' }),
            field('readOnly', 'bool', '0+'),
            field('isDefault', 'bool', '0', { default: false }),
            field('configSource', 'int8', '1+', { default: -1 }),
            field('isSensitive', 'bool', '0+'),
            arrayField(
              'synonyms',
              [
                field('name', 'string', '1+'),
                field('value', 'string', '1+', { nullable: '1+' }),
                field('source', 'int8', '1+'),
              ],
              '1+',
            ),
            field('configType', 'int8', '3+', { default: 0 }),
            field('documentation', 'string', '3+', { nullable: '0+', default: null }),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
};
