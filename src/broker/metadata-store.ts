import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A topic as the cluster metadata records it. */
export interface TopicRecord {
  name: string;
  /** Kafka topic id (UUID string). */
  topicId: string;
  partitionCount: number;
  replicationFactor: number;
  /** Topic-level overrides (`retention.ms`, `segment.bytes`, ...), as strings like Kafka's. */
  configs: Record<string, string>;
}

export interface ClusterMetadata {
  clusterId: string;
  topics: Record<string, TopicRecord>;
  /** Producer ids handed out so far reach below this (InitProducerId). */
  nextProducerId: number;
}

/**
 * Where the cluster metadata lives. On a single node it is a JSON file; under the controller
 * Raft group (DESIGN decision 7) every change becomes a controller log entry and `commit`
 * resolves when that entry is committed. Callers change metadata only through `update`.
 */
export interface MetadataStore {
  /** The last committed state. Never mutate it: use `update`. */
  readonly current: ClusterMetadata;
  /** Applies `change` to a copy, makes the result durable, then publishes it. Serialized. */
  update(change: (draft: ClusterMetadata) => void): Promise<ClusterMetadata>;
  close(): Promise<void>;
}

const FILE_NAME = 'metadata.json';

/**
 * Single-node MetadataStore: `<dataDir>/metadata.json`, replaced atomically (write a temporary
 * file, fsync it, rename over the old one, fsync the directory) so a crash leaves either the old
 * or the new state, never a torn one.
 */
export class JsonFileMetadataStore implements MetadataStore {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private state: ClusterMetadata,
  ) {}

  static async open(dataDir: string): Promise<JsonFileMetadataStore> {
    await mkdir(dataDir, { recursive: true });
    const path = join(dataDir, FILE_NAME);
    let state: ClusterMetadata;
    try {
      state = parseMetadata(await readFile(path, 'utf8'), path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      state = { clusterId: randomUUID(), topics: {}, nextProducerId: 1000 };
      await writeJsonAtomically(path, state);
    }
    return new JsonFileMetadataStore(path, state);
  }

  get current(): ClusterMetadata {
    return this.state;
  }

  update(change: (draft: ClusterMetadata) => void): Promise<ClusterMetadata> {
    const run = async (): Promise<ClusterMetadata> => {
      const draft = structuredClone(this.state);
      change(draft);
      await writeJsonAtomically(this.path, draft);
      this.state = draft;
      return draft;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await this.queue;
  }
}

function parseMetadata(text: string, path: string): ClusterMetadata {
  const value = JSON.parse(text) as Partial<ClusterMetadata>;
  if (typeof value !== 'object' || value === null || typeof value.clusterId !== 'string') {
    throw new Error(`${path}: not a goqueue metadata file (no clusterId)`);
  }
  return {
    clusterId: value.clusterId,
    topics: value.topics ?? {},
    nextProducerId: typeof value.nextProducerId === 'number' ? value.nextProducerId : 1000,
  };
}

/** Replaces the JSON file at `path` atomically and durably (tmp + fsync + rename + dir fsync). */
export async function writeJsonAtomically(path: string, state: unknown): Promise<void> {
  await writeFileAtomically(path, JSON.stringify(state, null, 2));
}

/** Replaces `path` with `bytes` so that a crash leaves the old or the new file, never a torn one:
 * temporary file, fsync, rename, directory fsync. */
export async function writeFileAtomically(path: string, bytes: string | Uint8Array): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
