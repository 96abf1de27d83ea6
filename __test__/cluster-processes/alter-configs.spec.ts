/**
 * Config changes in a cluster of three real broker processes: IncrementalAlterConfigs sent to a
 * broker that does not lead the controller is forwarded, applied by every broker, and still in
 * force on the partition's new leader after the old one is killed.
 */
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { eventually } from './harness.js';
import {
  agreedController,
  answered,
  clusterWithTopic,
  produceTo,
  servingLeader,
  withClient,
} from './requests.js';

const TOPIC_RESOURCE = 2;
const BROKER_RESOURCE = 4;
const SET = 0;
const DELETE = 1;

interface ConfigView {
  value: string | null;
  configSource: number;
}

/** DescribeConfigs v4 of topic `topic` as the broker on `port` answers it from its own state. */
function topicConfigsOn(port: number, topic: string): Promise<Map<string, ConfigView>> {
  return withClient(port, async (client) => {
    const answer = await answered(
      client.request(ApiKey.DescribeConfigs, 4, {
        resources: [{ resourceType: TOPIC_RESOURCE, resourceName: topic, configurationKeys: null }],
        includeSynonyms: false,
        includeDocumentation: false,
      }),
      `DescribeConfigs through port ${port}`,
    );
    const result = answer.body.results[0];
    if (result.errorCode !== ErrorCode.NONE) throw new Error(`DescribeConfigs error ${result.errorCode}`);
    return new Map(
      result.configs.map((config: ConfigView & { name: string }) => [
        config.name,
        { value: config.value, configSource: config.configSource },
      ]),
    );
  });
}

test.serial(
  'a config change made through a broker that does not lead the controller shows on every broker and holds on the partition’s next leader after a kill -9; a survivor then takes the next change',
  async (t) => {
    t.timeout(300_000);
    const cluster = await clusterWithTopic(t, { name: 'sized', partitions: 1 });
    const controller = await agreedController(cluster, 3);
    const through = [1, 2, 3].find((id) => id !== controller)!;
    const answer = await withClient(cluster.member(through).clientPort, (client) =>
      answered(
        client.request(ApiKey.IncrementalAlterConfigs, 1, {
          resources: [
            {
              resourceType: TOPIC_RESOURCE,
              resourceName: 'sized',
              configs: [{ name: 'max.message.bytes', configOperation: SET, value: '2000' }],
            },
            {
              resourceType: BROKER_RESOURCE,
              resourceName: '',
              configs: [{ name: 'log.retention.ms', configOperation: SET, value: '777777' }],
            },
          ],
          validateOnly: false,
        }),
        `IncrementalAlterConfigs through broker ${through}`,
      ),
    );
    t.deepEqual(
      answer.body.responses.map((response: { errorCode: number }) => response.errorCode),
      [ErrorCode.NONE, ErrorCode.NONE],
    );
    // The broker that took the request answers once the change is applied there.
    const here = await topicConfigsOn(cluster.member(through).clientPort, 'sized');
    t.deepEqual(here.get('max.message.bytes'), { value: '2000', configSource: 1 });
    t.deepEqual(here.get('retention.ms'), { value: '777777', configSource: 3 });
    // Every other broker applies the same controller record.
    for (const id of [1, 2, 3])
      await eventually(
        async () => {
          const configs = await topicConfigsOn(cluster.member(id).clientPort, 'sized');
          return configs.get('max.message.bytes')?.value === '2000' &&
            configs.get('retention.ms')?.value === '777777'
            ? true
            : undefined;
        },
        30_000,
        `the altered configs on broker ${id}`,
      );

    const { leaderId } = await servingLeader(cluster, 'sized', 0);
    const large = ['x'.repeat(3000)];
    const refused = await withClient(cluster.member(leaderId).clientPort, (client) =>
      produceTo(client, 'sized', 0, large),
    );
    t.is(refused.errorCode, ErrorCode.MESSAGE_TOO_LARGE);

    await cluster.kill(leaderId);
    const next = await servingLeader(cluster, 'sized', 0);
    t.not(next.leaderId, leaderId);
    const [stillRefused, small] = await withClient(
      cluster.member(next.leaderId).clientPort,
      async (client) => [
        await produceTo(client, 'sized', 0, large),
        await produceTo(client, 'sized', 0, ['small']),
      ],
    );
    t.is(stillRefused!.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    t.is(small!.errorCode, ErrorCode.NONE);
    const survivors = [1, 2, 3].filter((id) => id !== leaderId);
    for (const id of survivors) {
      const configs = await topicConfigsOn(cluster.member(id).clientPort, 'sized');
      t.is(configs.get('max.message.bytes')?.value, '2000', `broker ${id}`);
      t.is(configs.get('retention.ms')?.value, '777777', `broker ${id}`);
    }
    // The controller (a new leader if the killed broker led it) still takes changes.
    const deleted = await withClient(cluster.member(survivors[0]!).clientPort, (client) =>
      answered(
        client.request(ApiKey.IncrementalAlterConfigs, 0, {
          resources: [
            {
              resourceType: TOPIC_RESOURCE,
              resourceName: 'sized',
              configs: [{ name: 'max.message.bytes', configOperation: DELETE, value: null }],
            },
          ],
          validateOnly: false,
        }),
        `IncrementalAlterConfigs through broker ${survivors[0]}`,
      ),
    );
    t.is(deleted.body.responses[0].errorCode, ErrorCode.NONE);
    const accepted = await eventually(
      async () => {
        const { leaderId: current } = await servingLeader(cluster, 'sized', 0);
        const answer = await withClient(cluster.member(current).clientPort, (client) =>
          produceTo(client, 'sized', 0, large),
        );
        return answer.errorCode === ErrorCode.NONE ? answer : undefined;
      },
      30_000,
      'the large batch accepted once max.message.bytes is deleted',
    );
    t.is(accepted.errorCode, ErrorCode.NONE);
  },
);
