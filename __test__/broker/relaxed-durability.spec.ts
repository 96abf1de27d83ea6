/**
 * With `fsync_enabled` false the docs promise that only a power loss or a kernel
 * crash can lose acknowledged messages (appends "count as durable once in the page cache",
 * DurableRaftStorage.sync). But the native log gathers appends below 256 KiB in a write buffer in
 * the process's memory (Segment::append) and writes it to the file only on a sync, a full buffer,
 * a roll, a truncation or close; DurableRaftStorage.sync returns without touching the log when
 * the relaxed interval is not due (and never with flush_interval 0). So an acknowledged message
 * lived only in the broker's heap, and a kill -9 of the process (of a quorum, in a cluster) lost
 * it. Now a sync round without an fsync still writes the buffer to the file (Log.writeBuffered).
 */
import test from 'ava';
import { kcat, nativeStorageAvailable, spawnBroker, temporaryDirectory } from './helpers.js';

const durable = nativeStorageAvailable ? test.serial : test.serial.skip;

durable(
  'fsync_enabled false: a message acknowledged before a kill -9 of the broker process is read back',
  async (t) => {
    const dataDir = temporaryDirectory(t);
    const options = { dataDir, port: 0, autoCreateTopics: true, fsyncEnabled: false, flushIntervalMs: 0 };
    const first = await spawnBroker(options);
    t.teardown(() => first.child.kill('SIGKILL'));
    // acks=all: answered once committed (on a quorum's "disk", here the one broker).
    await kcat(['-b', `127.0.0.1:${first.port}`, '-P', '-t', 'acked', '-X', 'acks=all'], 'one\ntwo\nthree\n');
    // A process crash, not a power loss: the page cache survives, the process heap does not.
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await spawnBroker(options);
    t.teardown(() => second.child.kill('SIGKILL'));
    // Seen: even the auto-created topic is gone (the metadata log buffers the same way).
    const read = await kcat([
      '-b',
      `127.0.0.1:${second.port}`,
      '-C',
      '-t',
      'acked',
      '-o',
      'beginning',
      '-e',
      '-q',
    ]).catch((error: unknown) => `lost: ${(error as Error).message}`);
    t.deepEqual(read.split('\n').slice(0, -1), ['one', 'two', 'three']);
  },
);
