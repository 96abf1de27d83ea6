import { type ApiSchema, arrayField, field } from '../schema.js';

/** Fetch (1): FetchRequest.json / FetchResponse.json, versions 0-11 (12+ flexible). */
export const Fetch: ApiSchema = {
  apiKey: 1,
  name: 'Fetch',
  versions: [0, 11],
  flexibleFrom: 12,
  request: [
    field('replicaId', 'int32', '0+', { default: -1 }),
    field('maxWaitMs', 'int32', '0+'),
    field('minBytes', 'int32', '0+'),
    field('maxBytes', 'int32', '3+', { default: 0x7fffffff }),
    field('isolationLevel', 'int8', '4+', { default: 0 }),
    field('sessionId', 'int32', '7+', { default: 0 }),
    field('sessionEpoch', 'int32', '7+', { default: -1 }),
    arrayField(
      'topics',
      [
        field('topic', 'string', '0+'),
        arrayField(
          'partitions',
          [
            field('partition', 'int32', '0+'),
            field('currentLeaderEpoch', 'int32', '9+', { default: -1 }),
            field('fetchOffset', 'int64', '0+'),
            field('logStartOffset', 'int64', '5+', { default: -1 }),
            field('partitionMaxBytes', 'int32', '0+'),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
    arrayField(
      'forgottenTopicsData',
      [field('topic', 'string', '7+'), arrayField('partitions', 'int32', '7+')],
      '7+',
    ),
    field('rackId', 'string', '11+', { default: '' }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
    field('errorCode', 'int16', '7+', { default: 0 }),
    field('sessionId', 'int32', '7+', { default: 0 }),
    arrayField(
      'responses',
      [
        field('topic', 'string', '0+'),
        arrayField(
          'partitions',
          [
            field('partitionIndex', 'int32', '0+'),
            field('errorCode', 'int16', '0+'),
            field('highWatermark', 'int64', '0+'),
            field('lastStableOffset', 'int64', '4+', { default: -1 }),
            field('logStartOffset', 'int64', '5+', { default: -1 }),
            arrayField(
              'abortedTransactions',
              [field('producerId', 'int64', '4+'), field('firstOffset', 'int64', '4+')],
              '4+',
              { nullable: '4+', default: null },
            ),
            field('preferredReadReplica', 'int32', '11+', { default: -1 }),
            field('records', 'records', '0+', { nullable: '0+' }),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
};
