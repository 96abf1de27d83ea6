/**
 * A restarted member of a cluster serves once its copy of the controller metadata has caught up
 * (Controller.metadataCaughtUp). What it knows to be committed is bounded by its own log, and the
 * leader's first word to a returning follower is a heartbeat whose commit is at most what that
 * follower acknowledged before it went down. A wait that ended once a leader was known and that
 * commit applied ended before the entries committed while the broker was down had reached it:
 * its first answers called the topics created meanwhile unknown (UNKNOWN_TOPIC_OR_PARTITION). It
 * now waits for a read index of the controller group (the leader's commit, confirmed by a quorum)
 * and applies up to it.
 */
import test from 'ava';
import { ErrorCode, metadataOf } from './requests.js';
import { createThroughFirst, threeBrokersOneToRestart } from './restart-helpers.js';

test.serial(
  'a broker restarted after kill -9 knows, from its first answer, every topic created while it was down',
  async (t) => {
    t.timeout(240_000);
    const { cluster, restarted } = await threeBrokersOneToRestart(t);
    const unknown: string[] = [];
    for (let round = 0; round < 4; round++) {
      await cluster.kill(restarted);
      const names: string[] = [];
      for (let topic = 0; topic < 3; topic++) {
        const name = `while-down-${round}-${topic}`;
        await createThroughFirst(t, cluster, name, 2);
        names.push(name);
      }
      await cluster.start(restarted);
      const metadata = await metadataOf(cluster.member(restarted).clientPort, names);
      const missing = metadata.topics.filter((topic) => topic.errorCode !== ErrorCode.NONE);
      for (const topic of missing) unknown.push(`${topic.name} (error ${topic.errorCode})`);
      // Said with a failure: whether the broker gave up waiting for the controller leader.
      const gaveUp = cluster
        .member(restarted)
        .lines.find((line) => line.msg.startsWith('no controller leader reached'));
      if (missing.length > 0 && gaveUp !== undefined) unknown.push(`round ${round}: ${gaveUp.msg}`);
    }
    t.deepEqual(unknown, [], 'topics the restarted broker answered as unknown');
  },
);
