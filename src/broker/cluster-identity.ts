/**
 * Which cluster, and which broker of it, a data directory belongs to: `<dataDir>/cluster.json`,
 * written once when the directory is first used and checked on every later start, so that a
 * broker never serves another cluster's data (or another broker's) because of a wrong
 * `--data-dir`, `--broker-id` or `--initial-cluster`.
 *
 * The founding members of a cluster agree on its id without talking to each other: the id is
 * derived from the normalised member list and the cluster token (etcd does the same), so three
 * brokers started with the same `--initial-cluster` compute the same id, and two clusters formed
 * from one list with different tokens get different ids. A cluster of one started without a list
 * gets a random id; a broker that joins a running cluster is told the id by it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { normaliseInitialCluster } from '../config/cluster-members.js';
import type { BrokerConfig, InitialClusterMember } from '../config/types.js';
import { parseInitialCluster } from '../config/values.js';
import { assert } from '../lib/assert.js';
import { writeJsonAtomically } from './metadata-store.js';

export const CLUSTER_IDENTITY_FILE = 'cluster.json';
export const CLUSTER_IDENTITY_VERSION = 1;
/** The `initial_cluster_token` default (src/config/load.ts uses the same). */
export const DEFAULT_CLUSTER_TOKEN = 'goqueue-cluster';

/**
 * Entries a data directory may hold and still count as unused: the directory lock, an
 * identity write a crash interrupted, and the directory ext4 makes on a fresh volume.
 */
const entriesOfAnUnusedDirectory = new Set(['.lock', `${CLUSTER_IDENTITY_FILE}.tmp`, 'lost+found']);
/** The single-node metadata file of earlier versions, whose cluster id an adopted directory keeps. */
const legacyMetadataFile = 'metadata.json';

/** The contents of `cluster.json`. */
export interface ClusterIdentity {
  version: typeof CLUSTER_IDENTITY_VERSION;
  clusterId: string;
  brokerId: number;
  /** `normaliseInitialCluster` of the list the cluster was formed with; '' when there was none. */
  initialCluster: string;
  token: string;
}

/** What the starting broker believes it is (see `expectedClusterIdentity`). */
export interface ExpectedClusterIdentity {
  brokerId: number;
  /** The cluster's id when known: a joining broker learns it from the member it joins through. */
  clusterId?: string;
  /**
   * The configured `initial_cluster`, only when the user gave one (a cluster of one started
   * without it passes nothing, so its raft address may change between starts).
   */
  initialCluster?: readonly InitialClusterMember[] | string;
  /** `initial_cluster_token`; default `DEFAULT_CLUSTER_TOKEN`. */
  token?: string;
}

export interface ClusterIdentityCheck {
  clusterId: string;
  /** The directory was unused: the identity was written now. */
  fresh: boolean;
  /**
   * The directory held data of an earlier version but no identity file: the identity was
   * written now (worth a log line: the broker took over data it did not label itself).
   */
  adopted: boolean;
  identity: ClusterIdentity;
}

export type ClusterIdentityErrorCode = 'CLUSTER_ID_MISMATCH' | 'BROKER_ID_MISMATCH' | 'CLUSTER_FILE_INVALID';

/** The data directory belongs to another cluster or broker, or its identity file is unreadable. */
export class ClusterIdentityError extends Error {
  override name = 'ClusterIdentityError';
  constructor(
    readonly code: ClusterIdentityErrorCode,
    /** The identity file concerned. */
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The cluster id the founding members of `initialCluster` compute alone: a UUID (version 8,
 * RFC 9562's form for ids of one's own design) made of the first 16 bytes of the SHA-256 of the
 * normalised member list and the token. Any spelling of the same list (order, `broker1` for 1,
 * host case) gives the same id.
 */
export function deriveClusterId(
  initialCluster: readonly InitialClusterMember[] | string,
  token: string = DEFAULT_CLUSTER_TOKEN,
): string {
  const members = typeof initialCluster === 'string' ? parseInitialCluster(initialCluster) : initialCluster;
  assert(members.length > 0, 'a cluster id is derived from at least one member');
  assert(token.length > 0, 'the cluster token is not empty');
  const digest = createHash('sha256')
    .update(`goqueue cluster id v1\n${normaliseInitialCluster(members)}\n${token}`)
    .digest();
  const bytes = digest.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * What a broker started with `config` expects to find: its id, its token and, when the user gave
 * one, its member list. A joining broker adds the `clusterId` it learns from the cluster.
 */
export function expectedClusterIdentity(
  config: Pick<BrokerConfig, 'brokerId' | 'initialCluster' | 'initialClusterToken'>,
): ExpectedClusterIdentity {
  return {
    brokerId: config.brokerId,
    token: config.initialClusterToken,
    ...(config.initialCluster.length > 0 ? { initialCluster: config.initialCluster } : {}),
  };
}

/** `<dataDir>/cluster.json`, or null when there is none. Throws ClusterIdentityError if unreadable. */
export async function readClusterIdentity(dataDir: string): Promise<ClusterIdentity | null> {
  const path = join(dataDir, CLUSTER_IDENTITY_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return parseIdentity(text, path);
}

/**
 * Checks that `dataDir` belongs to the expected cluster and broker; call it while holding the
 * data directory lock, before opening anything else in it.
 *
 * - An unused directory (created if missing) gets its identity file now: the cluster id is
 *   `expected.clusterId`, else derived from `expected.initialCluster` and the token, else random
 *   (a new cluster of one). `fresh` is true.
 * - A directory with data but no identity file (an earlier single-node version) is adopted the
 *   same way, except that with neither a cluster id nor a list it keeps the cluster id of its
 *   old `metadata.json`, which clients have seen. `adopted` is true.
 * - Otherwise the stored identity must match: the broker id, `expected.clusterId` when given,
 *   and the id derived from `expected.initialCluster` when given — except that a cluster formed
 *   with this broker alone in its list, started again with itself alone, may have moved its Raft
 *   address (nobody else derives its id). A mismatch throws
 *   ClusterIdentityError (`BROKER_ID_MISMATCH`, `CLUSTER_ID_MISMATCH`) naming both sides and
 *   what to do; the file is left as it was.
 */
export async function checkClusterIdentity(
  dataDir: string,
  expected: ExpectedClusterIdentity,
): Promise<ClusterIdentityCheck> {
  const token = expected.token ?? DEFAULT_CLUSTER_TOKEN;
  const members =
    typeof expected.initialCluster === 'string'
      ? parseInitialCluster(expected.initialCluster)
      : (expected.initialCluster ?? []);
  const stored = await readClusterIdentity(dataDir);
  if (stored !== null) {
    checkStored(dataDir, stored, expected, members, token);
    return { clusterId: stored.clusterId, fresh: false, adopted: false, identity: stored };
  }

  await createDurably(dataDir);
  const adopted = !(await isUnused(dataDir));
  const clusterId =
    expected.clusterId ??
    (members.length > 0 ? deriveClusterId(members, token) : undefined) ??
    (adopted ? await legacyClusterId(dataDir) : undefined) ??
    randomUUID();
  const identity: ClusterIdentity = {
    version: CLUSTER_IDENTITY_VERSION,
    clusterId,
    brokerId: expected.brokerId,
    initialCluster: normaliseInitialCluster(members),
    token,
  };
  await writeJsonAtomically(join(dataDir, CLUSTER_IDENTITY_FILE), identity);
  return { clusterId, fresh: !adopted, adopted, identity };
}

function checkStored(
  dataDir: string,
  stored: ClusterIdentity,
  expected: ExpectedClusterIdentity,
  members: readonly InitialClusterMember[],
  token: string,
): void {
  const path = join(dataDir, CLUSTER_IDENTITY_FILE);
  const owner = `data directory ${dataDir} belongs to ${describeCluster(stored)}`;
  if (stored.brokerId !== expected.brokerId) {
    throw new ClusterIdentityError(
      'BROKER_ID_MISMATCH',
      path,
      `${owner} as broker ${stored.brokerId}, but this broker has broker_id ${expected.brokerId}: ` +
        `start it with broker_id ${stored.brokerId}, or use another --data-dir or remove it`,
    );
  }
  if (expected.clusterId !== undefined && expected.clusterId !== stored.clusterId) {
    throw new ClusterIdentityError(
      'CLUSTER_ID_MISMATCH',
      path,
      `${owner}, but this broker is joining cluster ${expected.clusterId}: ` +
        'use another --data-dir or remove it',
    );
  }
  if (
    members.length > 0 &&
    !(isClusterOfOne(stored.initialCluster, stored.brokerId) && isAlone(members, stored))
  ) {
    const clusterId = deriveClusterId(members, token);
    if (clusterId !== stored.clusterId) {
      const wanted = describeCluster({ clusterId, initialCluster: normaliseInitialCluster(members), token });
      throw new ClusterIdentityError(
        'CLUSTER_ID_MISMATCH',
        path,
        `${owner}, but this broker was started for ${wanted}: use another --data-dir or remove it ` +
          '(or start it with the initial_cluster and token its cluster was formed with)',
      );
    }
  }
}

/**
 * Whether `initialCluster` (normalised) lists `brokerId` alone. A cluster of one has no other
 * member that must compute its id, so it keeps its id when its Raft address changes.
 */
function isClusterOfOne(initialCluster: string, brokerId: number): boolean {
  return initialCluster !== '' && !initialCluster.includes(',') && initialCluster.startsWith(`${brokerId}=`);
}

function isAlone(members: readonly InitialClusterMember[], stored: ClusterIdentity): boolean {
  return members.length === 1 && members[0]!.brokerId === stored.brokerId;
}

function describeCluster(identity: Pick<ClusterIdentity, 'clusterId' | 'initialCluster' | 'token'>): string {
  return identity.initialCluster === ''
    ? `cluster ${identity.clusterId} (formed without initial_cluster)`
    : `cluster ${identity.clusterId} (formed with initial_cluster ${identity.initialCluster} and token "${identity.token}")`;
}

function parseIdentity(text: string, path: string): ClusterIdentity {
  const invalid = (why: string): never => {
    throw new ClusterIdentityError(
      'CLUSTER_FILE_INVALID',
      path,
      `${path} is not a goqueue cluster identity file (${why}); restore it from a backup, or remove the ` +
        'data directory to start this broker afresh',
    );
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return invalid(`not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null) return invalid('not a JSON object');
  const fields = value as Partial<Record<keyof ClusterIdentity, unknown>>;
  if (fields.version !== CLUSTER_IDENTITY_VERSION) {
    return invalid(
      `version ${String(fields.version)}; this goqueue reads version ${CLUSTER_IDENTITY_VERSION}`,
    );
  }
  if (typeof fields.clusterId !== 'string' || fields.clusterId === '') return invalid('no clusterId');
  if (!Number.isSafeInteger(fields.brokerId) || (fields.brokerId as number) < 0)
    return invalid('no brokerId');
  if (typeof fields.initialCluster !== 'string') return invalid('no initialCluster');
  if (typeof fields.token !== 'string' || fields.token === '') return invalid('no token');
  return {
    version: CLUSTER_IDENTITY_VERSION,
    clusterId: fields.clusterId,
    brokerId: fields.brokerId as number,
    initialCluster: fields.initialCluster,
    token: fields.token,
  };
}

async function isUnused(dataDir: string): Promise<boolean> {
  const entries = await readdir(dataDir);
  return entries.every((entry) => entriesOfAnUnusedDirectory.has(entry));
}

/** The cluster id in an earlier version's `metadata.json`, if it has a readable one. */
async function legacyClusterId(dataDir: string): Promise<string | undefined> {
  try {
    const metadata = JSON.parse(await readFile(join(dataDir, legacyMetadataFile), 'utf8')) as {
      clusterId?: unknown;
    };
    return typeof metadata.clusterId === 'string' && metadata.clusterId !== ''
      ? metadata.clusterId
      : undefined;
  } catch {
    return undefined;
  }
}

/** Creates `path` and any missing parents, and fsyncs each new directory's parent. */
async function createDurably(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return;
  for (let created = resolve(path); ; created = dirname(created)) {
    await syncDirectory(dirname(created));
    if (created === resolve(first)) return;
  }
}

async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
