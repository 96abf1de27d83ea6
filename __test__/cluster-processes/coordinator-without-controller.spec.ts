/**
 * The first FindCoordinator of a cluster creates `__consumer_offsets` through the controller. A
 * broker that cannot reach a controller quorum cannot create it: it must still answer, with the
 * retriable COORDINATOR_NOT_AVAILABLE once its first-lookup wait is over, so that a client's
 * request does not run into its own timeout (kafkajs and librdkafka then drop the connection and
 * back off far longer). Before, the lookup waited for the controller command's own 30 s limit.
 */
import test from 'ava';
import { ApiKey } from '../../src/protocol/index.js';
import { ProcessCluster } from './harness.js';
import { proxiedBrokers } from './proxied.js';
import { agreedController, answered, ErrorCode, withClient } from './requests.js';

test.serial(
  'a broker without a controller quorum answers the first FindCoordinator with COORDINATOR_NOT_AVAILABLE instead of holding it',
  async (t) => {
    t.timeout(120_000);
    const cluster = await ProcessCluster.create(t, 2);
    await cluster.startAll();
    await agreedController(cluster, 2);
    // Two controller voters: with one stopped, the other cannot commit (no quorum).
    await cluster.stop(2);
    const port = cluster.member(1).clientPort;
    const askedAt = performance.now();
    const answer = await withClient(port, (client) =>
      answered(
        client.request(ApiKey.FindCoordinator, 2, { key: 'first-group', keyType: 0 }),
        'FindCoordinator while the controller has no quorum',
      ),
    );
    t.log(`answered ${answer.body.errorCode} after ${Math.round(performance.now() - askedAt)} ms`);
    t.is(answer.body.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    t.is(cluster.member(1).child?.exitCode, null, 'the broker still runs');

    // Once the quorum is back, the same lookup finds a coordinator.
    await cluster.start(2);
    const found = await withClient(port, async (client) => {
      for (;;) {
        const again = await answered(
          client.request(ApiKey.FindCoordinator, 2, { key: 'first-group', keyType: 0 }),
          'FindCoordinator after the quorum returned',
        );
        if (again.body.errorCode === ErrorCode.NONE) return again.body.nodeId as number;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });
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
