import { type ApiSchema, arrayField, field } from '../schema.js';

/**
 * InitProducerId (22): versions 0-5 (2+ flexible). v3 (KIP-360) adds the producer's current id
 * and epoch so a transactional producer can resume; v4 and v5 only allow new error codes
 * (PRODUCER_FENCED, TRANSACTION_ABORTABLE). v6 (two-phase commit) is unstable in Kafka.
 */
export const InitProducerId: ApiSchema = {
  apiKey: 22,
  name: 'InitProducerId',
  versions: [0, 5],
  flexibleFrom: 2,
  request: [
    field('transactionalId', 'string', '0+', { nullable: '0+', default: null }),
    field('transactionTimeoutMs', 'int32', '0+'),
    field('producerId', 'int64', '3+', { default: -1 }),
    field('producerEpoch', 'int16', '3+', { default: -1 }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+', { default: 0 }),
    field('errorCode', 'int16', '0+'),
    field('producerId', 'int64', '0+', { default: -1 }),
    field('producerEpoch', 'int16', '0+', { default: -1 }),
  ],
};

/**
 * OffsetForLeaderEpoch (23): versions 0-4 (4+ flexible). goqueue's leader epoch is the Raft
 * term written into each batch's partitionLeaderEpoch.
 */
export const OffsetForLeaderEpoch: ApiSchema = {
  apiKey: 23,
  name: 'OffsetForLeaderEpoch',
  versions: [0, 4],
  flexibleFrom: 4,
  request: [
    field('replicaId', 'int32', '3+', { default: -2 }),
    arrayField(
      'topics',
      [
        field('topic', 'string', '0+'),
        arrayField(
          'partitions',
          [
            field('partition', 'int32', '0+'),
            field('currentLeaderEpoch', 'int32', '2+', { default: -1 }),
            field('leaderEpoch', 'int32', '0+'),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
  response: [
    field('throttleTimeMs', 'int32', '2+', { default: 0 }),
    arrayField(
      'topics',
      [
        field('topic', 'string', '0+'),
        arrayField(
          'partitions',
          [
            field('errorCode', 'int16', '0+'),
            field('partition', 'int32', '0+'),
            field('leaderEpoch', 'int32', '1+', { default: -1 }),
            field('endOffset', 'int64', '0+', { default: -1 }),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
};
