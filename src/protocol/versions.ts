/**
 * Which API versions goqueue advertises and serves (DESIGN decision 1).
 *
 * - Flexible versions (KIP-482) are served where the broker honours every field of the version;
 *   the table in docs/protocol.md says what each raise brought.
 * - `min = 0` is advertised for Produce, FindCoordinator, JoinGroup, SaslHandshake and
 *   ApiVersions because old librdkafka feature checks look for it; versions below what the
 *   broker implements are rejected with UNSUPPORTED_VERSION (Produce serves 3+: magic v2 only).
 * - An ApiVersions request above our max gets the KIP-511 answer: error 35 with these ranges in
 *   a v0 body and v0 header, after which the client retries with a version we serve.
 */
export enum ApiKey {
  Produce = 0,
  Fetch = 1,
  ListOffsets = 2,
  Metadata = 3,
  OffsetCommit = 8,
  OffsetFetch = 9,
  FindCoordinator = 10,
  JoinGroup = 11,
  Heartbeat = 12,
  LeaveGroup = 13,
  SyncGroup = 14,
  DescribeGroups = 15,
  ListGroups = 16,
  SaslHandshake = 17,
  ApiVersions = 18,
  CreateTopics = 19,
  DeleteTopics = 20,
  DeleteRecords = 21,
  InitProducerId = 22,
  OffsetForLeaderEpoch = 23,
  DescribeConfigs = 32,
  AlterConfigs = 33,
  DescribeLogDirs = 35,
  CreatePartitions = 37,
  DeleteGroups = 42,
  ElectLeaders = 43,
  IncrementalAlterConfigs = 44,
  AlterPartitionReassignments = 45,
  ListPartitionReassignments = 46,
  OffsetDelete = 47,
  DescribeCluster = 60,
}

export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** `[apiKey, advertised min, served min, max, newest non-flexible (-1: none)]`. */
const TABLE: ReadonlyArray<readonly [number, number, number, number, number]> = [
  [ApiKey.Produce, 0, 3, 13, 8],
  [ApiKey.Fetch, 4, 4, 18, 11],
  [ApiKey.ListOffsets, 1, 1, 11, 5],
  [ApiKey.Metadata, 0, 0, 13, 8],
  [ApiKey.OffsetCommit, 0, 0, 10, 7],
  [ApiKey.OffsetFetch, 0, 0, 10, 5],
  [ApiKey.FindCoordinator, 0, 0, 6, 2],
  [ApiKey.JoinGroup, 0, 0, 6, 5],
  [ApiKey.Heartbeat, 0, 0, 4, 3],
  [ApiKey.LeaveGroup, 0, 0, 4, 3],
  [ApiKey.SyncGroup, 0, 0, 4, 3],
  [ApiKey.DescribeGroups, 0, 0, 5, 4],
  [ApiKey.ListGroups, 0, 0, 3, 2],
  [ApiKey.SaslHandshake, 0, 0, 1, 1],
  [ApiKey.ApiVersions, 0, 0, 4, 2],
  [ApiKey.CreateTopics, 0, 0, 7, 4],
  [ApiKey.DeleteTopics, 0, 0, 5, 3],
  [ApiKey.DeleteRecords, 0, 0, 2, 1],
  [ApiKey.InitProducerId, 0, 0, 5, 1],
  [ApiKey.OffsetForLeaderEpoch, 0, 0, 4, 3],
  [ApiKey.DescribeConfigs, 0, 0, 4, 2],
  [ApiKey.AlterConfigs, 0, 0, 2, 1],
  [ApiKey.DescribeLogDirs, 0, 0, 4, 1],
  [ApiKey.CreatePartitions, 0, 0, 3, 1],
  [ApiKey.DeleteGroups, 0, 0, 2, 1],
  [ApiKey.ElectLeaders, 0, 0, 2, 1],
  [ApiKey.IncrementalAlterConfigs, 0, 0, 1, 0],
  [ApiKey.AlterPartitionReassignments, 0, 0, 0, -1],
  [ApiKey.ListPartitionReassignments, 0, 0, 0, -1],
  [ApiKey.OffsetDelete, 0, 0, 0, 0],
  [ApiKey.DescribeCluster, 0, 0, 1, -1],
];

/** The ranges the broker advertises in ApiVersions, in key order. */
export const SUPPORTED_APIS: ReadonlyArray<ApiVersionRange> = TABLE.map(
  ([apiKey, minVersion, , maxVersion]) => ({
    apiKey,
    minVersion,
    maxVersion,
  }),
);

/** The ranges the broker actually serves; narrower than advertised where min = 0 is a courtesy. */
export const SERVED_APIS: ReadonlyArray<ApiVersionRange> = TABLE.map(
  ([apiKey, , minVersion, maxVersion]) => ({
    apiKey,
    minVersion,
    maxVersion,
  }),
);

/**
 * The non-flexible ranges (served min to the newest non-flexible version): what the SDK client
 * asks for, whose bodies it builds in the non-flexible shapes.
 */
export const NON_FLEXIBLE_APIS: ReadonlyArray<ApiVersionRange> = TABLE.map(
  ([apiKey, , minVersion, , maxVersion]) => ({
    apiKey,
    minVersion,
    maxVersion,
  }),
).filter((range) => range.maxVersion >= range.minVersion); // -1: the API is flexible only

const SERVED_BY_KEY = new Map<number, ApiVersionRange>(SERVED_APIS.map((range) => [range.apiKey, range]));

/** True when the broker serves `apiVersion` of `apiKey`. */
export function isSupported(apiKey: number, apiVersion: number): boolean {
  const range = SERVED_BY_KEY.get(apiKey);
  return range !== undefined && apiVersion >= range.minVersion && apiVersion <= range.maxVersion;
}
