/**
 * The final reads after everything healed: every partition read from its leader, from the start
 * up to the high watermark it reports (through the SDK, which follows leadership).
 */
import { Consumer, listOffset } from '../../client/consumer.js';
import type { PartitionContents } from './checker.js';
import { sdkClient, TOPIC } from './workload.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface DrainResult {
  contents: PartitionContents;
  /** Partitions that could not be read to their end before the deadline. */
  incomplete: Array<{ partition: number; reason: string }>;
}

export async function drainLeaders(options: {
  bootstrap: string[];
  partitions: number;
  timeoutMs: number;
}): Promise<DrainResult> {
  const client = sdkClient(options.bootstrap, 'drain');
  const consumer = new Consumer(client, { maxWaitMs: 0 });
  const contents: PartitionContents = new Map();
  const incomplete: DrainResult['incomplete'] = [];
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (let partition = 0; partition < options.partitions; partition++) {
      const records = new Map<number, string>();
      contents.set(partition, records);
      let end = -1;
      let offset = 0;
      let lastError = '';
      let stalls = 0;
      while (Date.now() < deadline && stalls < 50) {
        try {
          if (end < 0) end = await listOffset(client, TOPIC, partition, -1, {});
          if (offset >= end) break;
          const result = await consumer.fetchFrom({ topic: TOPIC, partition, offset, maxWaitMs: 0 });
          for (const message of result.messages) records.set(message.offset, message.value?.toString() ?? '');
          if (result.nextOffset <= offset) {
            stalls++;
            lastError = `no progress past offset ${offset}`;
          }
          offset = Math.max(offset, result.nextOffset);
        } catch (error) {
          lastError = (error as Error).message;
          await sleep(250);
        }
      }
      if (end < 0 || offset < end)
        incomplete.push({ partition, reason: `read to ${offset} of ${end}: ${lastError}` });
    }
  } finally {
    await client.close().catch(() => undefined);
  }
  return { contents, incomplete };
}
