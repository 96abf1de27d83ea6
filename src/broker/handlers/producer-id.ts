import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { Handler } from '../context.js';

interface InitProducerIdRequest {
  transactionalId: string | null;
  transactionTimeoutMs: number;
}

/** InitProducerId for idempotent producers: a fresh producer id at epoch 0. Transactions are not
 * served (a transactional id gets INVALID_REQUEST). */
export const initProducerIdHandler: Handler = {
  apiKey: ApiKey.InitProducerId,
  async handle(request: InitProducerIdRequest, { broker }) {
    if (request.transactionalId !== null && request.transactionalId !== undefined) {
      return initProducerIdHandler.errorResponse(request, ErrorCode.INVALID_REQUEST);
    }
    const producerId = await broker.producers.allocateProducerId();
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  },
  errorResponse: (_request, errorCode) => ({
    throttleTimeMs: 0,
    errorCode,
    producerId: -1,
    producerEpoch: -1,
  }),
};
