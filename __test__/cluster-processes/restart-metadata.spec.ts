/**
 * A broker restarted in a running cluster answers Metadata from its own applied copy of the
 * controller log. Right after a kill -9 its copy may lag: it replays only up to the commit index
 * it had saved (written behind, about once a second), and learns the rest from the controller
 * leader once Raft reaches it. A broker that served before it caught up answered a topic created
 * just before the kill as unknown (UNKNOWN_TOPIC_OR_PARTITION) to the first clients to ask.
 */
import test from 'ava';
import { ErrorCode, metadataOf } from './requests.js';
import { createThroughFirst, threeBrokersOneToRestart } from './restart-helpers.js';

test.serial(
  'a broker restarted after kill -9 knows, from its first answer, every topic created before the kill',
  async (t) => {
    t.timeout(240_000);
    const { cluster, restarted } = await threeBrokersOneToRestart(t);
    const names: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (let topic = 0; topic < 10; topic++) {
        const name = `restart-${round}-${topic}`;
        await createThroughFirst(t, cluster, name, 3);
        names.push(name);
      }
      // The last topics were created well under a second before the kill: the commit index the
      // broker saved may not cover them yet.
      await cluster.kill(restarted);
      await cluster.start(restarted);
      const metadata = await metadataOf(cluster.member(restarted).clientPort, names);
      t.deepEqual(
        metadata.topics.filter((topic) => topic.errorCode !== ErrorCode.NONE).map((topic) => topic.name),
        [],
        `round ${round}: topics the restarted broker answered as unknown`,
      );
    }
  },
);
