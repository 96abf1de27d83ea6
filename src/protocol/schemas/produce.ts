import { type ApiSchema, arrayField, field } from '../schema.js';

/**
 * Produce (0): ProduceRequest.json / ProduceResponse.json, versions 0-13 (9+ flexible). v10
 * adds KIP-951 leader hints, v11-12 only transaction semantics, v13 names topics by id.
 */
export const Produce: ApiSchema = {
  apiKey: 0,
  name: 'Produce',
  versions: [0, 13],
  flexibleFrom: 9,
  request: [
    field('transactionalId', 'string', '3+', { nullable: '3+', default: null }),
    field('acks', 'int16', '0+'),
    field('timeoutMs', 'int32', '0+'),
    arrayField(
      'topicData',
      [
        field('name', 'string', '0-12'),
        field('topicId', 'uuid', '13+'),
        arrayField(
          'partitionData',
          [field('index', 'int32', '0+'), field('records', 'records', '0+', { nullable: '0+' })],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
  response: [
    arrayField(
      'responses',
      [
        field('name', 'string', '0-12'),
        field('topicId', 'uuid', '13+'),
        arrayField(
          'partitionResponses',
          [
            field('index', 'int32', '0+'),
            field('errorCode', 'int16', '0+'),
            field('baseOffset', 'int64', '0+'),
            field('logAppendTimeMs', 'int64', '2+', { default: -1 }),
            field('logStartOffset', 'int64', '5+', { default: -1 }),
            arrayField(
              'recordErrors',
              [
                field('batchIndex', 'int32', '8+'),
                field('batchIndexErrorMessage', 'string', '8+', { nullable: '8+', default: null }),
              ],
              '8+',
            ),
            field('errorMessage', 'string', '8+', { nullable: '8+', default: null }),
            field(
              'currentLeader',
              [
                field('leaderId', 'int32', '10+', { default: -1 }),
                field('leaderEpoch', 'int32', '10+', { default: -1 }),
              ],
              '10+',
              { tag: 0 },
            ),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
    arrayField(
      'nodeEndpoints',
      [
        field('nodeId', 'int32', '10+'),
        field('host', 'string', '10+'),
        field('port', 'int32', '10+'),
        field('rack', 'string', '10+', { nullable: '10+', default: null }),
      ],
      '10+',
      { tag: 0 },
    ),
  ],
};
