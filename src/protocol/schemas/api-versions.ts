import { type ApiSchema, arrayField, field } from '../schema.js';

/**
 * ApiVersions (18): ApiVersionsRequest.json / ApiVersionsResponse.json, versions 0-4 (3+
 * flexible; v4 only lets a feature's min version be 0). Its response header is always v0. A
 * version above ours gets the KIP-511 answer (see `encodeApiVersionsFallback`).
 */
export const ApiVersions: ApiSchema = {
  apiKey: 18,
  name: 'ApiVersions',
  versions: [0, 4],
  flexibleFrom: 3,
  request: [
    field('clientSoftwareName', 'string', '3+', { default: '' }),
    field('clientSoftwareVersion', 'string', '3+', { default: '' }),
  ],
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
    arrayField(
      'supportedFeatures',
      [field('name', 'string', '3+'), field('minVersion', 'int16', '3+'), field('maxVersion', 'int16', '3+')],
      '3+',
      { tag: 0 },
    ),
    field('finalizedFeaturesEpoch', 'int64', '3+', { tag: 1, default: -1 }),
    arrayField(
      'finalizedFeatures',
      [
        field('name', 'string', '3+'),
        field('maxVersionLevel', 'int16', '3+'),
        field('minVersionLevel', 'int16', '3+'),
      ],
      '3+',
      { tag: 2 },
    ),
    field('zkMigrationReady', 'bool', '3+', { tag: 3, default: false }),
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
