import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { Handler } from '../context.js';
import { TRANSACTIONS_UNSUPPORTED_ERROR } from './transactions.js';

interface InitProducerIdRequest {
  transactionalId: string | null;
  transactionTimeoutMs: number;
}

/** InitProducerId for idempotent producers: a fresh producer id at epoch 0. Transactions are not
 * served: a transactional id gets the same non-retriable answer as FindCoordinator for one
 * (see transactions.ts). The current id and epoch a v3+ request may carry matter only to a
 * transactional id; an idempotent producer that sends them gets a fresh id, as from Kafka. */
export const initProducerIdHandler: Handler = {
  apiKey: ApiKey.InitProducerId,
  async handle(request: InitProducerIdRequest, { broker }) {
    if (request.transactionalId !== null && request.transactionalId !== undefined) {
      return initProducerIdHandler.errorResponse(request, TRANSACTIONS_UNSUPPORTED_ERROR);
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
