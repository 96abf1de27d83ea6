import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { Handler } from '../context.js';
import { nodeEndpoint } from './leader-hints.js';

/** Kafka's "authorized operations not requested" marker. */
const OPERATIONS_OMITTED = -2147483648;
/** DescribeCluster v1+ `endpointType`: 1 = brokers (2 = controllers, which KRaft exposes). */
const ENDPOINT_TYPE_BROKERS = 1;

interface DescribeClusterRequest {
  includeClusterAuthorizedOperations: boolean;
  endpointType?: number;
}

/**
 * DescribeCluster (the Java AdminClient's describeCluster, kadm's BrokerMetadata): the cluster
 * id, the controller's leader and the live brokers, from this broker's applied metadata (the
 * same brokers Metadata lists). Only broker endpoints exist: a request for controller
 * endpoints (type 2) gets UNSUPPORTED_ENDPOINT_TYPE, as from a Kafka broker.
 */
export const describeClusterHandler: Handler = {
  apiKey: ApiKey.DescribeCluster,
  handle(request: DescribeClusterRequest, { broker }) {
    const endpointType = request.endpointType ?? ENDPOINT_TYPE_BROKERS;
    if (endpointType !== ENDPOINT_TYPE_BROKERS)
      return errorBody(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, broker.clusterId, endpointType);
    const ids = new Set<number>([broker.brokerId]);
    for (const known of broker.controller.state.brokers()) ids.add(known.brokerId);
    const brokers = [...ids]
      .sort((a, b) => a - b)
      .flatMap((id) => {
        const endpoint = nodeEndpoint(broker, id);
        return endpoint === undefined
          ? []
          : [{ brokerId: id, host: endpoint.host, port: endpoint.port, rack: endpoint.rack }];
      });
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType,
      clusterId: broker.clusterId,
      controllerId: broker.controller.leaderId,
      brokers,
      clusterAuthorizedOperations: OPERATIONS_OMITTED,
    };
  },
  errorResponse: (request: DescribeClusterRequest, errorCode) =>
    errorBody(errorCode, '', request.endpointType ?? 1),
};

function errorBody(errorCode: number, clusterId: string, endpointType: number): object {
  return {
    throttleTimeMs: 0,
    errorCode,
    errorMessage: null,
    endpointType,
    clusterId,
    controllerId: -1,
    brokers: [],
    clusterAuthorizedOperations: OPERATIONS_OMITTED,
  };
}
