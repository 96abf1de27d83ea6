import { type ApiSchema, arrayField, field } from '../schema.js';

/**
 * ListOffsets (2): ListOffsetsRequest.json / ListOffsetsResponse.json, versions 0-11 (6+
 * flexible). `timestamp` -1 asks for the latest offset, -2 for the earliest; the later versions
 * add lookups, not fields: v7 -3 (the record with the largest timestamp, KIP-734), v8 -4 (the
 * first offset kept locally, KIP-405), v9 -5 (the last offset in tiered storage, KIP-1005), v11
 * -6 (the first offset not yet in tiered storage, KIP-1023); v10 adds `timeoutMs` for lookups that
 * read tiered storage (KIP-1075).
 */
export const ListOffsets: ApiSchema = {
  apiKey: 2,
  name: 'ListOffsets',
  versions: [0, 11],
  flexibleFrom: 6,
  request: [
    field('replicaId', 'int32', '0+', { default: -1 }),
    field('isolationLevel', 'int8', '2+', { default: 0 }),
    arrayField(
      'topics',
      [
        field('name', 'string', '0+'),
        arrayField(
          'partitions',
          [
            field('partitionIndex', 'int32', '0+'),
            field('currentLeaderEpoch', 'int32', '4+', { default: -1 }),
            field('timestamp', 'int64', '0+'),
            field('maxNumOffsets', 'int32', '0', { default: 1 }),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
    field('timeoutMs', 'int32', '10+', { default: 0 }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '2+', { default: 0 }),
    arrayField(
      'topics',
      [
        field('name', 'string', '0+'),
        arrayField(
          'partitions',
          [
            field('partitionIndex', 'int32', '0+'),
            field('errorCode', 'int16', '0+'),
            arrayField('oldStyleOffsets', 'int64', '0'),
            field('timestamp', 'int64', '1+', { default: -1 }),
            field('offset', 'int64', '1+', { default: -1 }),
            field('leaderEpoch', 'int32', '4+', { default: -1 }),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
};
