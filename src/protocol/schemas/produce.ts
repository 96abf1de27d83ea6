import { type ApiSchema, arrayField, field } from '../schema.js';

/** Produce (0): ProduceRequest.json / ProduceResponse.json, versions 0-9 (9+ flexible). */
export const Produce: ApiSchema = {
  apiKey: 0,
  name: 'Produce',
  versions: [0, 9],
  flexibleFrom: 9,
  request: [
    field('transactionalId', 'string', '3+', { nullable: '3+', default: null }),
    field('acks', 'int16', '0+'),
    field('timeoutMs', 'int32', '0+'),
    arrayField(
      'topicData',
      [
        field('name', 'string', '0+'),
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
        field('name', 'string', '0+'),
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
          ],
          '0+',
        ),
      ],
      '0+',
    ),
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
  ],
};
