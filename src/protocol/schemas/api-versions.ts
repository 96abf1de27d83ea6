import { type ApiSchema, arrayField, field } from '../schema.js';

/**
 * ApiVersions (18): ApiVersionsRequest.json / ApiVersionsResponse.json, versions 0-2. Version 3
 * is flexible and not served: it gets the KIP-511 fallback (see `encodeApiVersionsFallback`).
 */
export const ApiVersions: ApiSchema = {
  apiKey: 18,
  name: 'ApiVersions',
  versions: [0, 2],
  firstFlexibleVersion: 3,
  request: [],
  response: [
    field('errorCode', 'int16', '0+'),
    arrayField(
      'apiKeys',
      [
        field('apiKey', 'int16', '0+'),
        field('minVersion', 'int16', '0+'),
        field('maxVersion', 'int16', '0+'),
      ],
      '0+',
    ),
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
  ],
};

/** SaslHandshake (17): versions 0-1, never flexible. */
export const SaslHandshake: ApiSchema = {
  apiKey: 17,
  name: 'SaslHandshake',
  versions: [0, 1],
  request: [field('mechanism', 'string', '0+')],
  response: [field('errorCode', 'int16', '0+'), arrayField('mechanisms', 'string', '0+')],
};
