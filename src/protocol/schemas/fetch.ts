import { type ApiSchema, arrayField, field } from '../schema.js';

/**
 * Fetch (1): FetchRequest.json / FetchResponse.json, versions 0-18 (12+ flexible). v12 adds the
 * last fetched epoch and the diverging-epoch answer, v13 names topics by id, v15, v17 and v18 add
 * follower-only fields (replica state, directory, the follower's high watermark: KIP-1166), v16
 * the leaders' endpoints (KIP-951).
 */

/** Kafka's default of the v18 `highWatermark` (2^63-1, "not supported"): as a JS number it reads
 * as 2^63, which is also what decoding 2^63-1 gives, so an absent field and an explicit default
 * compare equal (and the encoder never writes it). */
const FOLLOWER_HIGH_WATERMARK_UNKNOWN = 2 ** 63;
export const Fetch: ApiSchema = {
  apiKey: 1,
  name: 'Fetch',
  versions: [0, 18],
  flexibleFrom: 12,
  request: [
    field('clusterId', 'string', '12+', { nullable: '12+', default: null, tag: 0 }),
    field('replicaId', 'int32', '0-14', { default: -1 }),
    field(
      'replicaState',
      [
        field('replicaId', 'int32', '15+', { default: -1 }),
        field('replicaEpoch', 'int64', '15+', { default: -1 }),
      ],
      '15+',
      { tag: 1 },
    ),
    field('maxWaitMs', 'int32', '0+'),
    field('minBytes', 'int32', '0+'),
    field('maxBytes', 'int32', '3+', { default: 0x7fffffff }),
    field('isolationLevel', 'int8', '4+', { default: 0 }),
    field('sessionId', 'int32', '7+', { default: 0 }),
    field('sessionEpoch', 'int32', '7+', { default: -1 }),
    arrayField(
      'topics',
      [
        field('topic', 'string', '0-12'),
        field('topicId', 'uuid', '13+'),
        arrayField(
          'partitions',
          [
            field('partition', 'int32', '0+'),
            field('currentLeaderEpoch', 'int32', '9+', { default: -1 }),
            field('fetchOffset', 'int64', '0+'),
            field('lastFetchedEpoch', 'int32', '12+', { default: -1 }),
            field('logStartOffset', 'int64', '5+', { default: -1 }),
            field('partitionMaxBytes', 'int32', '0+'),
            field('replicaDirectoryId', 'uuid', '17+', { tag: 0 }),
            field('highWatermark', 'int64', '18+', { default: FOLLOWER_HIGH_WATERMARK_UNKNOWN, tag: 1 }),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
    arrayField(
      'forgottenTopicsData',
      [
        field('topic', 'string', '7-12'),
        field('topicId', 'uuid', '13+'),
        arrayField('partitions', 'int32', '7+'),
      ],
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
        field('topic', 'string', '0-12'),
        field('topicId', 'uuid', '13+'),
        arrayField(
          'partitions',
          [
            field('partitionIndex', 'int32', '0+'),
            field('errorCode', 'int16', '0+'),
            field('highWatermark', 'int64', '0+'),
            field('lastStableOffset', 'int64', '4+', { default: -1 }),
            field('logStartOffset', 'int64', '5+', { default: -1 }),
            field(
              'divergingEpoch',
              [
                field('epoch', 'int32', '12+', { default: -1 }),
                field('endOffset', 'int64', '12+', { default: -1 }),
              ],
              '12+',
              { tag: 0 },
            ),
            field(
              'currentLeader',
              [
                field('leaderId', 'int32', '12+', { default: -1 }),
                field('leaderEpoch', 'int32', '12+', { default: -1 }),
              ],
              '12+',
              { tag: 1 },
            ),
            field(
              'snapshotId',
              [
                field('endOffset', 'int64', '0+', { default: -1 }),
                field('epoch', 'int32', '0+', { default: -1 }),
              ],
              '12+',
              { tag: 2 },
            ),
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
    arrayField(
      'nodeEndpoints',
      [
        field('nodeId', 'int32', '16+'),
        field('host', 'string', '16+'),
        field('port', 'int32', '16+'),
        field('rack', 'string', '16+', { nullable: '16+', default: null }),
      ],
      '16+',
      { tag: 0 },
    ),
  ],
};
