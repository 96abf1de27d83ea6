import { ErrorCode } from '../../protocol/index.js';
import type { Handler } from '../context.js';
import { apiVersionsHandler } from './api-versions.js';
import { describeConfigsHandler } from './describe-configs.js';
import { fetchHandler } from './fetch.js';
import {
  describeGroupsHandler,
  findCoordinatorHandler,
  heartbeatHandler,
  joinGroupHandler,
  leaveGroupHandler,
  listGroupsHandler,
  notCoordinator,
  offsetCommitHandler,
  offsetFetchHandler,
  syncGroupHandler,
} from './groups.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { offsetForLeaderEpochHandler } from './offset-for-leader-epoch.js';
import { produceHandler } from './produce.js';
import { initProducerIdHandler } from './producer-id.js';
import { createPartitionsHandler, createTopicsHandler, deleteTopicsHandler } from './topic-admin.js';

/** A group API served only by the group coordinator; elsewhere NOT_COORDINATOR (the client asks
 * FindCoordinator again). */
function coordinated(handler: Handler): Handler {
  return {
    apiKey: handler.apiKey,
    handle: (request, context) =>
      notCoordinator(context.broker)
        ? handler.errorResponse(request, ErrorCode.NOT_COORDINATOR)
        : handler.handle(request, context),
    errorResponse: handler.errorResponse,
  };
}

/** Every API this broker answers; the router serves the intersection with the codec's SUPPORTED_APIS. */
export const HANDLERS: readonly Handler[] = [
  apiVersionsHandler,
  metadataHandler,
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  createPartitionsHandler,
  describeConfigsHandler,
  offsetForLeaderEpochHandler,
  initProducerIdHandler,
  findCoordinatorHandler,
  coordinated(joinGroupHandler),
  coordinated(syncGroupHandler),
  coordinated(heartbeatHandler),
  coordinated(leaveGroupHandler),
  coordinated(offsetCommitHandler),
  coordinated(offsetFetchHandler),
  listGroupsHandler,
  describeGroupsHandler,
];
