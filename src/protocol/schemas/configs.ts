import { type ApiSchema, arrayField, type Field, field } from '../schema.js';

/** The answer both config-altering APIs give: one error per resource. */
const alterResponse = [
  field('throttleTimeMs', 'int32', '0+', { default: 0 }),
  arrayField(
    'responses',
    [
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
    ],
    '0+',
  ),
];

/** The request of both APIs: resources, each with its config entries, and `validateOnly`. */
function alterRequest(configFields: Field[]): Field[] {
  return [
    arrayField(
      'resources',
      [
        field('resourceType', 'int8', '0+'),
        field('resourceName', 'string', '0+'),
        arrayField('configs', configFields, '0+'),
      ],
      '0+',
    ),
    field('validateOnly', 'bool', '0+', { default: false }),
  ];
}

/**
 * AlterConfigs (33): versions 0-2 (2+ flexible; v1 and v2 change nothing else). Replaces the
 * whole set of dynamic configs of each resource (KIP-133).
 */
export const AlterConfigs: ApiSchema = {
  apiKey: 33,
  name: 'AlterConfigs',
  versions: [0, 2],
  flexibleFrom: 2,
  request: alterRequest([field('name', 'string', '0+'), field('value', 'string', '0+', { nullable: '0+' })]),
  response: alterResponse,
};

/**
 * IncrementalAlterConfigs (44): versions 0-1 (1+ flexible). Each entry sets, deletes, appends to
 * or subtracts from one key (KIP-339); keys not named keep their values.
 */
export const IncrementalAlterConfigs: ApiSchema = {
  apiKey: 44,
  name: 'IncrementalAlterConfigs',
  versions: [0, 1],
  flexibleFrom: 1,
  request: alterRequest([
    field('name', 'string', '0+'),
    field('configOperation', 'int8', '0+'),
    field('value', 'string', '0+', { nullable: '0+' }),
  ]),
  response: alterResponse,
};
