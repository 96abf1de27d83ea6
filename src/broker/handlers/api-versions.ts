import { ApiKey, type ApiVersionRange, ErrorCode } from '../../protocol/index.js';
import type { Handler } from '../context.js';

/** ApiVersions body listing every API and version range this broker answers. */
export function apiVersionsBody(apis: readonly ApiVersionRange[], errorCode: number): object {
  return {
    errorCode,
    apiKeys: apis.map((api) => ({
      apiKey: api.apiKey,
      minVersion: api.minVersion,
      maxVersion: api.maxVersion,
    })),
    throttleTimeMs: 0,
  };
}

export const apiVersionsHandler: Handler = {
  apiKey: ApiKey.ApiVersions,
  handle: (_request, { broker }) => apiVersionsBody(broker.servedApis, ErrorCode.NONE),
  errorResponse: (_request, errorCode) => ({ errorCode, apiKeys: [], throttleTimeMs: 0 }),
};
