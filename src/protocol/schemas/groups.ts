import { type ApiSchema, arrayField, field } from '../schema.js';

const AUTHORIZED_OPERATIONS_UNKNOWN = -2147483648;

/**
 * FindCoordinator (10): versions 0-6 (3+ flexible). keyType 0 = group, 1 = transaction, 2 = share
 * group state (v6, KIP-932). v4 asks for several keys at once and is answered per key
 * (KIP-699); v5 and v6 change no field (v5 allows TRANSACTION_ABORTABLE, v6 the share key type).
 */
export const FindCoordinator: ApiSchema = {
  apiKey: 10,
  name: 'FindCoordinator',
  versions: [0, 6],
  flexibleFrom: 3,
  request: [
    field('key', 'string', '0-3'),
    field('keyType', 'int8', '1+', { default: 0 }),
    arrayField('coordinatorKeys', 'string', '4+'),
  ],
  response: [
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
    field('errorCode', 'int16', '0-3'),
    field('errorMessage', 'string', '1-3', { nullable: '1-3', default: null }),
    field('nodeId', 'int32', '0-3'),
    field('host', 'string', '0-3'),
    field('port', 'int32', '0-3'),
    arrayField(
      'coordinators',
      [
        field('key', 'string', '4+'),
        field('nodeId', 'int32', '4+'),
        field('host', 'string', '4+'),
        field('port', 'int32', '4+'),
        field('errorCode', 'int16', '4+'),
        field('errorMessage', 'string', '4+', { nullable: '4+', default: null }),
      ],
      '4+',
    ),
  ],
};

/** JoinGroup (11): versions 0-6 (6+ flexible). */
export const JoinGroup: ApiSchema = {
  apiKey: 11,
  name: 'JoinGroup',
  versions: [0, 6],
  flexibleFrom: 6,
  request: [
    field('groupId', 'string', '0+'),
    field('sessionTimeoutMs', 'int32', '0+'),
    field('rebalanceTimeoutMs', 'int32', '1+', { default: -1 }),
    field('memberId', 'string', '0+'),
    field('groupInstanceId', 'string', '5+', { nullable: '5+', default: null }),
    field('protocolType', 'string', '0+'),
    arrayField('protocols', [field('name', 'string', '0+'), field('metadata', 'bytes', '0+')], '0+'),
  ],
  response: [
    field('throttleTimeMs', 'int32', '2+', { default: 0 }),
    field('errorCode', 'int16', '0+'),
    field('generationId', 'int32', '0+', { default: -1 }),
    field('protocolName', 'string', '0+'),
    field('leader', 'string', '0+'),
    field('memberId', 'string', '0+'),
    arrayField(
      'members',
      [
        field('memberId', 'string', '0+'),
        field('groupInstanceId', 'string', '5+', { nullable: '5+', default: null }),
        field('metadata', 'bytes', '0+'),
      ],
      '0+',
    ),
  ],
};

/** Heartbeat (12): versions 0-4 (4+ flexible). */
export const Heartbeat: ApiSchema = {
  apiKey: 12,
  name: 'Heartbeat',
  versions: [0, 4],
  flexibleFrom: 4,
  request: [
    field('groupId', 'string', '0+'),
    field('generationId', 'int32', '0+'),
    field('memberId', 'string', '0+'),
    field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
  ],
  response: [field('throttleTimeMs', 'int32', '1+', { default: 0 }), field('errorCode', 'int16', '0+')],
};

/** LeaveGroup (13): versions 0-4 (4+ flexible); v3 leaves several members at once. */
export const LeaveGroup: ApiSchema = {
  apiKey: 13,
  name: 'LeaveGroup',
  versions: [0, 4],
  flexibleFrom: 4,
  request: [
    field('groupId', 'string', '0+'),
    field('memberId', 'string', '0-2'),
    arrayField(
      'members',
      [
        field('memberId', 'string', '3+'),
        field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
      ],
      '3+',
    ),
  ],
  response: [
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
    field('errorCode', 'int16', '0+'),
    arrayField(
      'members',
      [
        field('memberId', 'string', '3+'),
        field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
        field('errorCode', 'int16', '3+'),
      ],
      '3+',
    ),
  ],
};

/** SyncGroup (14): versions 0-4 (4+ flexible). */
export const SyncGroup: ApiSchema = {
  apiKey: 14,
  name: 'SyncGroup',
  versions: [0, 4],
  flexibleFrom: 4,
  request: [
    field('groupId', 'string', '0+'),
    field('generationId', 'int32', '0+'),
    field('memberId', 'string', '0+'),
    field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
    arrayField('assignments', [field('memberId', 'string', '0+'), field('assignment', 'bytes', '0+')], '0+'),
  ],
  response: [
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
    field('errorCode', 'int16', '0+'),
    field('assignment', 'bytes', '0+'),
  ],
};

/** DescribeGroups (15): versions 0-5 (5+ flexible). */
export const DescribeGroups: ApiSchema = {
  apiKey: 15,
  name: 'DescribeGroups',
  versions: [0, 5],
  flexibleFrom: 5,
  request: [
    arrayField('groups', 'string', '0+'),
    field('includeAuthorizedOperations', 'bool', '3+', { default: false }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
    arrayField(
      'groups',
      [
        field('errorCode', 'int16', '0+'),
        field('groupId', 'string', '0+'),
        field('groupState', 'string', '0+'),
        field('protocolType', 'string', '0+'),
        field('protocolData', 'string', '0+'),
        arrayField(
          'members',
          [
            field('memberId', 'string', '0+'),
            field('groupInstanceId', 'string', '4+', { nullable: '4+', default: null }),
            field('clientId', 'string', '0+'),
            field('clientHost', 'string', '0+'),
            field('memberMetadata', 'bytes', '0+'),
            field('memberAssignment', 'bytes', '0+'),
          ],
          '0+',
        ),
        field('authorizedOperations', 'int32', '3+', { default: AUTHORIZED_OPERATIONS_UNKNOWN }),
      ],
      '0+',
    ),
  ],
};

/** ListGroups (16): versions 0-3 (3+ flexible). */
export const ListGroups: ApiSchema = {
  apiKey: 16,
  name: 'ListGroups',
  versions: [0, 3],
  flexibleFrom: 3,
  request: [],
  response: [
    field('throttleTimeMs', 'int32', '1+', { default: 0 }),
    field('errorCode', 'int16', '0+'),
    arrayField('groups', [field('groupId', 'string', '0+'), field('protocolType', 'string', '0+')], '0+'),
  ],
};

/** DeleteGroups (42): versions 0-2 (2+ flexible); v1 differs only in throttling. */
export const DeleteGroups: ApiSchema = {
  apiKey: 42,
  name: 'DeleteGroups',
  versions: [0, 2],
  flexibleFrom: 2,
  request: [arrayField('groupsNames', 'string', '0+')],
  response: [
    field('throttleTimeMs', 'int32', '0+'),
    arrayField('results', [field('groupId', 'string', '0+'), field('errorCode', 'int16', '0+')], '0+'),
  ],
};

/** OffsetDelete (47): version 0. */
export const OffsetDelete: ApiSchema = {
  apiKey: 47,
  name: 'OffsetDelete',
  versions: [0, 0],
  request: [
    field('groupId', 'string', '0+'),
    arrayField(
      'topics',
      [
        field('name', 'string', '0+'),
        arrayField('partitions', [field('partitionIndex', 'int32', '0+')], '0+'),
      ],
      '0+',
    ),
  ],
  response: [
    field('errorCode', 'int16', '0+'),
    field('throttleTimeMs', 'int32', '0+'),
    arrayField(
      'topics',
      [
        field('name', 'string', '0+'),
        arrayField(
          'partitions',
          [field('partitionIndex', 'int32', '0+'), field('errorCode', 'int16', '0+')],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
};

/**
 * OffsetCommit (8): versions 0-10 (8+ flexible). v9 is v8 for the classic protocol (the
 * generation field is a member epoch under KIP-848; GROUP_ID_NOT_FOUND for a group that does not
 * exist), v10 names topics by id.
 */
export const OffsetCommit: ApiSchema = {
  apiKey: 8,
  name: 'OffsetCommit',
  versions: [0, 10],
  flexibleFrom: 8,
  request: [
    field('groupId', 'string', '0+'),
    field('generationId', 'int32', '1+', { default: -1 }),
    field('memberId', 'string', '1+'),
    field('groupInstanceId', 'string', '7+', { nullable: '7+', default: null }),
    field('retentionTimeMs', 'int64', '2-4', { default: -1 }),
    arrayField(
      'topics',
      [
        field('name', 'string', '0-9'),
        field('topicId', 'uuid', '10+'),
        arrayField(
          'partitions',
          [
            field('partitionIndex', 'int32', '0+'),
            field('committedOffset', 'int64', '0+'),
            field('committedLeaderEpoch', 'int32', '6+', { default: -1 }),
            field('commitTimestamp', 'int64', '1', { default: -1 }),
            field('committedMetadata', 'string', '0+', { nullable: '0+' }),
          ],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
  response: [
    field('throttleTimeMs', 'int32', '3+', { default: 0 }),
    arrayField(
      'topics',
      [
        field('name', 'string', '0-9'),
        field('topicId', 'uuid', '10+'),
        arrayField(
          'partitions',
          [field('partitionIndex', 'int32', '0+'), field('errorCode', 'int16', '0+')],
          '0+',
        ),
      ],
      '0+',
    ),
  ],
};

/**
 * OffsetFetch (9): versions 0-10 (6+ flexible). From v2 on, null `topics` means every topic; v7
 * adds `requireStable`; v8 asks for several groups at once and is answered per group; v9 adds the
 * KIP-848 member id and epoch; v10 names topics by id.
 */
export const OffsetFetch: ApiSchema = {
  apiKey: 9,
  name: 'OffsetFetch',
  versions: [0, 10],
  flexibleFrom: 6,
  request: [
    field('groupId', 'string', '0-7'),
    arrayField(
      'topics',
      [field('name', 'string', '0-7'), arrayField('partitionIndexes', 'int32', '0-7')],
      '0-7',
      { nullable: '2-7' },
    ),
    arrayField(
      'groups',
      [
        field('groupId', 'string', '8+'),
        field('memberId', 'string', '9+', { nullable: '9+', default: null }),
        field('memberEpoch', 'int32', '9+', { default: -1 }),
        arrayField(
          'topics',
          [
            field('name', 'string', '8-9'),
            field('topicId', 'uuid', '10+'),
            arrayField('partitionIndexes', 'int32', '8+'),
          ],
          '8+',
          { nullable: '8+' },
        ),
      ],
      '8+',
    ),
    field('requireStable', 'bool', '7+', { default: false }),
  ],
  response: [
    field('throttleTimeMs', 'int32', '3+', { default: 0 }),
    arrayField(
      'topics',
      [
        field('name', 'string', '0-7'),
        arrayField(
          'partitions',
          [
            field('partitionIndex', 'int32', '0-7'),
            field('committedOffset', 'int64', '0-7'),
            field('committedLeaderEpoch', 'int32', '5-7', { default: -1 }),
            field('metadata', 'string', '0-7', { nullable: '0-7' }),
            field('errorCode', 'int16', '0-7'),
          ],
          '0-7',
        ),
      ],
      '0-7',
    ),
    field('errorCode', 'int16', '2-7', { default: 0 }),
    arrayField(
      'groups',
      [
        field('groupId', 'string', '8+'),
        arrayField(
          'topics',
          [
            field('name', 'string', '8-9'),
            field('topicId', 'uuid', '10+'),
            arrayField(
              'partitions',
              [
                field('partitionIndex', 'int32', '8+'),
                field('committedOffset', 'int64', '8+'),
                field('committedLeaderEpoch', 'int32', '8+', { default: -1 }),
                field('metadata', 'string', '8+', { nullable: '8+' }),
                field('errorCode', 'int16', '8+'),
              ],
              '8+',
            ),
          ],
          '8+',
        ),
        field('errorCode', 'int16', '8+', { default: 0 }),
      ],
      '8+',
    ),
  ],
};
