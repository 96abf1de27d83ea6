import { type ApiSchema, arrayField, field } from '../schema.js';

const AUTHORIZED_OPERATIONS_UNKNOWN = -2147483648;

/**
 * DescribeCluster (60): DescribeClusterRequest.json / DescribeClusterResponse.json, versions 0-1
 * (every version flexible). v1 adds the endpoint type (1 = brokers); v2 (fenced brokers) is not
 * described.
 */
export const DescribeCluster: ApiSchema = {
  apiKey: 60,
  name: 'DescribeCluster',
  versions: [0, 1],
  flexibleFrom: 0,
  request: [
    field('includeClusterAuthorizedOperations', 'bool', '0+', { default: false }),
    field('endpointType', 'int8', '1+', { default: 1 }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '0+', { default: 0 }),
    field('errorCode', 'int16', '0+', { default: 0 }),
    field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
    field('endpointType', 'int8', '1+', { default: 1 }),
    field('clusterId', 'string', '0+'),
    field('controllerId', 'int32', '0+', { default: -1 }),
    arrayField(
      'brokers',
      [
        field('brokerId', 'int32', '0+'),
        field('host', 'string', '0+'),
        field('port', 'int32', '0+'),
        field('rack', 'string', '0+', { nullable: '0+', default: null }),
      ],
      '0+',
    ),
    field('clusterAuthorizedOperations', 'int32', '0+', { default: AUTHORIZED_OPERATIONS_UNKNOWN }),
  ],
};
