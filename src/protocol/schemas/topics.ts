import { type ApiSchema, arrayField, field } from '../schema.js';

/** CreateTopics (19): versions 0-4 (5+ flexible). */
export const CreateTopics: ApiSchema = {
  apiKey: 19,
  name: 'CreateTopics',
  versions: [0, 4],
  firstFlexibleVersion: 5,
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
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '1+', { nullable: '0+', default: null }),
      ],
      '0+',
    ),
  ],
};

/** DeleteTopics (20): versions 0-3 (4+ flexible). */
export const DeleteTopics: ApiSchema = {
  apiKey: 20,
  name: 'DeleteTopics',
  versions: [0, 3],
  firstFlexibleVersion: 4,
  request: [arrayField('topicNames', 'string', '0-5'), field('timeoutMs', 'int32', '0+')],
  response: [
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
    arrayField('responses', [field('name', 'string', '0+'), field('errorCode', 'int16', '0+')], '0+'),
  ],
};

/** CreatePartitions (37): versions 0-1 (2+ flexible). `count` is the new total. */
export const CreatePartitions: ApiSchema = {
  apiKey: 37,
  name: 'CreatePartitions',
  versions: [0, 1],
  firstFlexibleVersion: 2,
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

/** DescribeConfigs (32): versions 0-2 (4+ flexible; 3 adds documentation and is not served). */
export const DescribeConfigs: ApiSchema = {
  apiKey: 32,
  name: 'DescribeConfigs',
  versions: [0, 2],
  firstFlexibleVersion: 4,
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
          ],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
};
