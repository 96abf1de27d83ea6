import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { Handler } from '../context.js';
import type { PartitionReplica } from '../partition-replica.js';

interface DescribeLogDirsRequest {
  /** null: every partition this broker hosts. */
  topics: Array<{ topic: string; partitions: number[] }> | null;
}

interface PartitionDirectory {
  partitionIndex: number;
  partitionSize: number;
  offsetLag: number;
  isFutureKey: boolean;
}

/** Size and usable space of the file system holding `directory`; -1 each when unknown. */
async function volumeOf(directory: string): Promise<{ totalBytes: number; usableBytes: number }> {
  try {
    const { blocks, bavail, bsize } = await statfs(directory);
    return { totalBytes: blocks * bsize, usableBytes: bavail * bsize };
  } catch {
    return { totalBytes: -1, usableBytes: -1 };
  }
}

/** True when the request asks about `replica` (null topics = all). */
function wanted(request: DescribeLogDirsRequest, replica: PartitionReplica): boolean {
  if (request.topics === null) return true;
  return request.topics.some(
    (topic) => topic.topic === replica.topic && topic.partitions.includes(replica.partition),
  );
}

async function describeReplica(replica: PartitionReplica): Promise<PartitionDirectory> {
  // Kafka's lag of a current (not future) replica: how far its log end trails the high
  // watermark it knows; 0 on a leader, and on a follower that holds what it knows is committed.
  const logEnd = await replica.logEndOffset();
  return {
    partitionIndex: replica.partition,
    partitionSize: replica.sizeBytes,
    offsetLag: replica.isLeader ? 0 : Math.max(0, replica.highWatermark - logEnd),
    isFutureKey: false,
  };
}

/**
 * DescribeLogDirs (the Java AdminClient's describeLogDirs, kafka-log-dirs.sh): this broker's
 * one data directory and the replicas it hosts there, with their bytes on disk; v4 adds the
 * volume's total and usable bytes. Each broker answers for itself (clients ask every broker).
 */
export const describeLogDirsHandler: Handler = {
  apiKey: ApiKey.DescribeLogDirs,
  async handle(request: DescribeLogDirsRequest, { broker }) {
    const byTopic = new Map<string, PartitionDirectory[]>();
    const replicas = broker.topics
      .replicas()
      .filter((replica) => wanted(request, replica))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    for (const replica of replicas) {
      const described = await describeReplica(replica);
      const partitions = byTopic.get(replica.topic) ?? [];
      partitions.push(described);
      byTopic.set(replica.topic, partitions);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [
        {
          errorCode: ErrorCode.NONE,
          logDir: resolve(broker.config.dataDir),
          topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
          ...(await volumeOf(broker.config.dataDir)),
        },
      ],
    };
  },
  errorResponse: (_request: DescribeLogDirsRequest, errorCode) => ({
    throttleTimeMs: 0,
    errorCode,
    results: [],
  }),
};
