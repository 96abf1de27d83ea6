import { type ApiSchema, arrayField, field } from '../schema.js';

/**
 * DeleteRecords (21): DeleteRecordsRequest.json / DeleteRecordsResponse.json, versions 0-2
 * (2+ flexible; v1 only changed throttling). `offset` -1 = the high watermark.
 */
export const DeleteRecords: ApiSchema = {
  apiKey: 21,
  name: 'DeleteRecords',
  versions: [0, 2],
  flexibleFrom: 2,
  request: [
    arrayField(
      'topics',
      [
        field('name', 'string', '0+'),
        arrayField(
          'partitions',
          [field('partitionIndex', 'int32', '0+'), field('offset', 'int64', '0+')],
          '0+',
        ),
      ],
      '0+',
    ),
    field('timeoutMs', 'int32', '0+', { default: 60000 }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+', { default: 0 }),
    arrayField(
      'topics',
      [
        field('name', 'string', '0+'),
        arrayField(
          'partitions',
          [
            field('partitionIndex', 'int32', '0+'),
            field('lowWatermark', 'int64', '0+'),
            field('errorCode', 'int16', '0+'),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
};

/**
 * DescribeLogDirs (35): DescribeLogDirsRequest.json / DescribeLogDirsResponse.json, versions 0-4
 * (2+ flexible; v3 adds the top-level error code, v4 the volume's total and usable bytes).
 * `topics` null = every partition.
 */
export const DescribeLogDirs: ApiSchema = {
  apiKey: 35,
  name: 'DescribeLogDirs',
  versions: [0, 4],
  flexibleFrom: 2,
  request: [
    arrayField('topics', [field('topic', 'string', '0+'), arrayField('partitions', 'int32', '0+')], '0+', {
      nullable: '0+',
    }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+', { default: 0 }),
    field('errorCode', 'int16', '3+', { default: 0 }),
    arrayField(
      'results',
      [
        field('errorCode', 'int16', '0+'),
        field('logDir', 'string', '0+'),
        arrayField(
          'topics',
          [
            field('name', 'string', '0+'),
            arrayField(
              'partitions',
              [
                field('partitionIndex', 'int32', '0+'),
                field('partitionSize', 'int64', '0+'),
                field('offsetLag', 'int64', '0+'),
                field('isFutureKey', 'bool', '0+', { default: false }),
              ],
              '0+',
            ),
          ],
          '0+',
        ),
        field('totalBytes', 'int64', '4+', { default: -1 }),
        field('usableBytes', 'int64', '4+', { default: -1 }),
      ],
      '0+',
    ),
  ],
};
