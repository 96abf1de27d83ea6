/**
 * Requests a broker can only answer with the controller's help must still be answered, with a
 * retriable error, when no controller leader is reachable.
 *
 * The first FindCoordinator of a cluster creates `__consumer_offsets` through the controller. A
 * broker that cannot reach a controller quorum cannot create it: it must still answer, with the
 * retriable COORDINATOR_NOT_AVAILABLE once its first-lookup wait is over, so that a client's
 * request does not run into its own timeout (kafkajs and librdkafka then drop the connection and
 * back off far longer). Before, the lookup waited for the controller command's own 30 s limit.
 */
import test, { type ExecutionContext } from 'ava';
import { ApiKey } from '../../src/protocol/index.js';
import { ProcessCluster } from './harness.js';
import { proxiedBrokers } from './proxied.js';
import { agreedController, answered, ErrorCode, withClient } from './requests.js';

/**
 * Two brokers have one controller voter (the other follows as a learner): the voter stopped,
 * the other broker has no controller at all. Returns the cluster, the stopped voter and the
 * other broker's client port.
 */
async function withoutController(t: ExecutionContext) {
  const cluster = await ProcessCluster.create(t, 2);
  await cluster.startAll();
  const voter = await agreedController(cluster, 2);
  const other = voter === 1 ? 2 : 1;
  await cluster.stop(voter);
  return { cluster, voter, other, port: cluster.member(other).clientPort };
}

/** Sends one request to `port` until it is answered without error; returns that answer's body. */
async function untilAnswered(
  port: number,
  request: { apiKey: number; version: number; body: Record<string, unknown> },
  what: string,
) {
  return withClient(port, async (client) => {
    for (;;) {
      const answer = await answered(client.request(request.apiKey, request.version, request.body), what);
      if (answer.body.errorCode === ErrorCode.NONE) return answer.body;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
}

test.serial(
  'a broker without a controller quorum answers the first FindCoordinator with COORDINATOR_NOT_AVAILABLE instead of holding it',
  async (t) => {
    t.timeout(120_000);
    const { cluster, voter, other, port } = await withoutController(t);
    const askedAt = performance.now();
    const answer = await withClient(port, (client) =>
      answered(
        client.request(ApiKey.FindCoordinator, 2, { key: 'first-group', keyType: 0 }),
        'FindCoordinator while the controller has no quorum',
      ),
    );
    t.log(`answered ${answer.body.errorCode} after ${Math.round(performance.now() - askedAt)} ms`);
    t.is(answer.body.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    t.is(cluster.member(other).child?.exitCode, null, 'the broker still runs');

    // Once the quorum is back, the same lookup finds a coordinator.
    await cluster.start(voter);
    const found = (
      await untilAnswered(
        port,
        { apiKey: ApiKey.FindCoordinator, version: 2, body: { key: 'first-group', keyType: 0 } },
        'FindCoordinator after the quorum returned',
      )
    ).nodeId as number;
    t.true(found === 1 || found === 2, `coordinator ${found} is a broker of the cluster`);
  },
);

test.serial(
  'a broker cut off from the controller leader (which keeps its quorum) answers the first FindCoordinator instead of holding it',
  async (t) => {
    t.timeout(120_000);
    const { processes, cuts } = await proxiedBrokers(t, 3);
    const port = (id: number) => processes.member(id).clientPort;
    const controller = await withClient(port(1), async (client) => {
      for (;;) {
        const metadata = await client.request(ApiKey.Metadata, 1, { topics: [] });
        const brokers = metadata.body.brokers as unknown[];
        const id = metadata.body.controllerId as number;
        if (brokers.length === 3 && id > 0) return id;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });
    const cutOff = processes.ids.find((id) => id !== controller) as number;
    cuts.cutBetween(
      [cutOff],
      processes.ids.filter((id) => id !== cutOff),
    );
    const askedAt = performance.now();
    const answer = await withClient(port(cutOff), (client) =>
      answered(
        client.request(ApiKey.FindCoordinator, 2, { key: 'first-group', keyType: 0 }),
        `FindCoordinator at broker ${cutOff}, cut off from the controller leader`,
      ),
    );
    t.log(`answered ${answer.body.errorCode} after ${Math.round(performance.now() - askedAt)} ms`);
    t.is(answer.body.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  },
);

// A broker hands out producer ids from blocks the controller allocates. Without a controller
// quorum it cannot get its first block: InitProducerId must still be answered, with the
// retriable COORDINATOR_LOAD_IN_PROGRESS (Kafka's answer while a broker waits for a block), not
// held past the client's timeout (it waited for the controller command's 30 s limit).
test.serial(
  'a broker without a controller quorum answers InitProducerId with COORDINATOR_LOAD_IN_PROGRESS instead of holding it',
  async (t) => {
    t.timeout(120_000);
    const { cluster, voter, port } = await withoutController(t);
    const askedAt = performance.now();
    const answer = await withClient(port, (client) =>
      answered(
        client.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60_000 }),
        'InitProducerId while the controller has no quorum',
      ),
    );
    t.log(`answered ${answer.body.errorCode} after ${Math.round(performance.now() - askedAt)} ms`);
    t.is(answer.body.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);

    // Once the quorum is back, a producer id is handed out.
    await cluster.start(voter);
    const producerId = Number(
      (
        await untilAnswered(
          port,
          {
            apiKey: ApiKey.InitProducerId,
            version: 1,
            body: { transactionalId: null, transactionTimeoutMs: 60_000 },
          },
          'InitProducerId after the quorum returned',
        )
      ).producerId,
    );
    t.true(producerId >= 0);
  },
);
