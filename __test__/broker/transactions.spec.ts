import test from 'ava';
import { TRANSACTIONS_UNSUPPORTED_MESSAGE } from '../../src/broker/handlers/transactions.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { bootstrap, kcat, RawClient, startBroker } from './helpers.js';

// Transactions are not served: a transactional producer must stop at its first request, with a
// non-retriable code every checked client treats as fatal (npm run interop runs the Java client,
// librdkafka, franz-go and sarama; docs/protocol.md, "Transactions").

test('FindCoordinator for a transaction key answers CLUSTER_AUTHORIZATION_FAILED with a message saying transactions are not supported', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  for (const version of [1, 2]) {
    const response = await client.request(ApiKey.FindCoordinator, version, { key: 'tx-1', keyType: 1 });
    t.is(response.body.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, `v${version}`);
    t.is(response.body.errorMessage, TRANSACTIONS_UNSUPPORTED_MESSAGE, `v${version}`);
    t.regex(response.body.errorMessage, /does not support transactions/);
    t.is(response.body.nodeId, -1);
  }
});

test('InitProducerId with a transactional id answers CLUSTER_AUTHORIZATION_FAILED; without one it allocates an id', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const transactional = await client.request(ApiKey.InitProducerId, 1, {
    transactionalId: 'tx-1',
    transactionTimeoutMs: 60_000,
  });
  t.is(transactional.body.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  t.is(Number(transactional.body.producerId), -1);
  const idempotent = await client.request(ApiKey.InitProducerId, 1, {
    transactionalId: null,
    transactionTimeoutMs: 60_000,
  });
  t.is(idempotent.body.errorCode, ErrorCode.NONE);
  t.true(Number(idempotent.body.producerId) >= 0);
});

test('kcat (librdkafka) with a transactional.id stops at init_transactions with the broker message', async (t) => {
  const broker = await startBroker(t, { autoCreateTopics: true });
  // librdkafka treats only the two authorization codes as fatal here; any other answer makes it
  // retry until init_transactions times out ("_TIMED_OUT"), which this message check rejects.
  const error = await t.throwsAsync(() =>
    kcat(['-b', bootstrap(broker), '-P', '-t', 'transactions', '-X', 'transactional.id=tx-1'], 'x\n'),
  );
  t.regex(
    error.message,
    /init_transactions\(\).*Cluster authorization failed: goqueue does not support transactions/,
  );
});
