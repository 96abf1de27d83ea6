import type { ApiSchema } from '../schema.js';
import { ApiVersions, SaslHandshake } from './api-versions.js';
import { DescribeCluster } from './cluster.js';
import { AlterConfigs, IncrementalAlterConfigs } from './configs.js';
import { Fetch } from './fetch.js';
import {
  DeleteGroups,
  DescribeGroups,
  FindCoordinator,
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  ListGroups,
  OffsetCommit,
  OffsetDelete,
  OffsetFetch,
  SyncGroup,
} from './groups.js';
import { ListOffsets } from './list-offsets.js';
import { Metadata } from './metadata.js';
import { Produce } from './produce.js';
import { InitProducerId, OffsetForLeaderEpoch } from './producers.js';
import { AlterPartitionReassignments, ElectLeaders, ListPartitionReassignments } from './reassignments.js';
import { DeleteRecords, DescribeLogDirs } from './records-admin.js';
import { CreatePartitions, CreateTopics, DeleteTopics, DescribeConfigs } from './topics.js';

/** Every API the codec knows, by key. */
export const API_SCHEMAS: ReadonlyArray<ApiSchema> = [
  Produce,
  Fetch,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  FindCoordinator,
  JoinGroup,
  Heartbeat,
  LeaveGroup,
  SyncGroup,
  DescribeGroups,
  ListGroups,
  SaslHandshake,
  ApiVersions,
  CreateTopics,
  DeleteTopics,
  DeleteRecords,
  InitProducerId,
  OffsetForLeaderEpoch,
  DescribeConfigs,
  DescribeLogDirs,
  CreatePartitions,
  DeleteGroups,
  OffsetDelete,
  DescribeCluster,
  AlterConfigs,
  IncrementalAlterConfigs,
  ElectLeaders,
  AlterPartitionReassignments,
  ListPartitionReassignments,
];

const BY_KEY = new Map<number, ApiSchema>(API_SCHEMAS.map((schema) => [schema.apiKey, schema]));

export function schemaFor(apiKey: number): ApiSchema | undefined {
  return BY_KEY.get(apiKey);
}
