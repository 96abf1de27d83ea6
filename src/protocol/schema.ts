/**
 * Declarative message schemas and the one generic encoder/decoder they drive.
 *
 * A schema is a list of fields, each valid for a range of API versions (Kafka's message JSON
 * schemas, `clients/src/main/resources/common/message/*.json`, written as our own tables). For a
 * given version the schema is compiled once into a plan holding only the fields of that version;
 * the decoder and encoder walk the plan. Only non-flexible versions (no tagged fields) exist here.
 */
import { ErrorCode, ProtocolError } from './errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export type PrimitiveType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'bool'
  | 'float64'
  | 'string'
  | 'bytes'
  /** Raw RecordBatch bytes (int32 length, nullable): never parsed by the codec. */
  | 'records'
  | 'uuid';

/** Inclusive version range; `[5, MAX_VERSION]` is Kafka's "5+". */
export type VersionRange = readonly [number, number];
export const MAX_VERSION = 0x7fff;

export interface Field {
  readonly name: string;
  /** A primitive, or a struct given by its fields. */
  readonly type: PrimitiveType | readonly Field[];
  /** When set, the field is an array of `type`. */
  readonly array?: boolean;
  readonly versions: VersionRange;
  /** Versions in which the field may be null. */
  readonly nullableVersions?: VersionRange;
  /** Written when an encoded object lacks the field; Kafka's schema default. */
  readonly default?: unknown;
}

export interface MessageSchema {
  readonly name: string;
  readonly fields: readonly Field[];
}

export interface ApiSchema {
  readonly apiKey: number;
  readonly name: string;
  /** Non-flexible versions this schema describes. */
  readonly versions: VersionRange;
  /** First flexible version in Kafka (its header carries tagged fields); undefined if none. */
  readonly firstFlexibleVersion?: number;
  readonly request: readonly Field[];
  readonly response: readonly Field[];
}

/** Parses Kafka's version notation: "3+", "0-4", "1". */
export function versionRange(text: string): VersionRange {
  if (text.endsWith('+')) return [Number(text.slice(0, -1)), MAX_VERSION];
  const dash = text.indexOf('-');
  if (dash >= 0) return [Number(text.slice(0, dash)), Number(text.slice(dash + 1))];
  return [Number(text), Number(text)];
}

interface FieldOptions {
  nullable?: string;
  default?: unknown;
}

/** A scalar (or struct) field: `field('logStartOffset', 'int64', '5+', { default: -1 })`. */
export function field(
  name: string,
  type: PrimitiveType | readonly Field[],
  versions: string,
  options: FieldOptions = {},
): Field {
  const result: {
    name: string;
    type: PrimitiveType | readonly Field[];
    versions: VersionRange;
    nullableVersions?: VersionRange;
    default?: unknown;
  } = { name, type, versions: versionRange(versions) };
  if (options.nullable !== undefined) result.nullableVersions = versionRange(options.nullable);
  if ('default' in options) result.default = options.default;
  return result;
}

/** An array field of a primitive or a struct. */
export function arrayField(
  name: string,
  type: PrimitiveType | readonly Field[],
  versions: string,
  options: FieldOptions = {},
): Field {
  return { ...field(name, type, versions, options), array: true };
}

// ---------------------------------------------------------------------------------------------
// Compilation: one plan per (schema, version).

enum Kind {
  Int8,
  Int16,
  Int32,
  Int64,
  Uint32,
  Bool,
  Float64,
  String,
  Bytes,
  Records,
  Uuid,
  Struct,
}

const KIND_OF: Record<PrimitiveType, Kind> = {
  int8: Kind.Int8,
  int16: Kind.Int16,
  int32: Kind.Int32,
  int64: Kind.Int64,
  uint32: Kind.Uint32,
  bool: Kind.Bool,
  float64: Kind.Float64,
  string: Kind.String,
  bytes: Kind.Bytes,
  records: Kind.Records,
  uuid: Kind.Uuid,
};

/** Smallest encoding of one value of each kind (a length prefix for variable ones). */
const MIN_BYTES: Record<Kind, number> = {
  [Kind.Int8]: 1,
  [Kind.Int16]: 2,
  [Kind.Int32]: 4,
  [Kind.Int64]: 8,
  [Kind.Uint32]: 4,
  [Kind.Bool]: 1,
  [Kind.Float64]: 8,
  [Kind.String]: 2,
  [Kind.Bytes]: 4,
  [Kind.Records]: 4,
  [Kind.Uuid]: 16,
  [Kind.Struct]: 0,
};

interface Step {
  readonly name: string;
  readonly kind: Kind;
  readonly array: boolean;
  readonly nullable: boolean;
  readonly defaultValue: unknown;
  /** Fields of a struct (element) kind. */
  readonly children: readonly Step[];
  /** Smallest encoding of one element (or the value), for array-length checks. */
  readonly minElementBytes: number;
}

export type Plan = readonly Step[];

function inRange(range: VersionRange | undefined, version: number): boolean {
  return range !== undefined && version >= range[0] && version <= range[1];
}

function implicitDefault(kind: Kind, array: boolean, nullable: boolean): unknown {
  if (nullable) return null;
  if (array) return [];
  switch (kind) {
    case Kind.Bool:
      return false;
    case Kind.String:
      return '';
    case Kind.Bytes:
      return Buffer.alloc(0);
    case Kind.Records:
      return null;
    case Kind.Uuid:
      return null;
    case Kind.Struct:
      return {};
    default:
      return 0;
  }
}

/** The fields of `fields` present in `version`, in wire order. */
export function compile(fields: readonly Field[], version: number): Plan {
  const steps: Step[] = [];
  for (const spec of fields) {
    if (!inRange(spec.versions, version)) continue;
    const isStruct = typeof spec.type !== 'string';
    const kind = isStruct ? Kind.Struct : KIND_OF[spec.type as PrimitiveType];
    const children = isStruct ? compile(spec.type as readonly Field[], version) : [];
    const nullable = inRange(spec.nullableVersions, version);
    const elementBytes = isStruct
      ? children.reduce((sum, child) => sum + stepMinBytes(child), 0)
      : MIN_BYTES[kind];
    steps.push({
      name: spec.name,
      kind,
      array: spec.array === true,
      nullable,
      defaultValue: 'default' in spec ? spec.default : implicitDefault(kind, spec.array === true, nullable),
      children,
      minElementBytes: Math.max(1, elementBytes),
    });
  }
  return steps;
}

function stepMinBytes(step: Step): number {
  if (step.array) return 4;
  if (step.kind === Kind.Struct) return step.children.reduce((sum, child) => sum + stepMinBytes(child), 0);
  return MIN_BYTES[step.kind];
}

const planCache = new WeakMap<readonly Field[], Map<number, Plan>>();

/** Cached `compile`. */
export function planFor(fields: readonly Field[], version: number): Plan {
  let byVersion = planCache.get(fields);
  if (byVersion === undefined) {
    byVersion = new Map();
    planCache.set(fields, byVersion);
  }
  let plan = byVersion.get(version);
  if (plan === undefined) {
    plan = compile(fields, version);
    byVersion.set(version, plan);
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Generic decoder.

function readValue(reader: Reader, step: Step): unknown {
  switch (step.kind) {
    case Kind.Int8:
      return reader.int8();
    case Kind.Int16:
      return reader.int16();
    case Kind.Int32:
      return reader.int32();
    case Kind.Int64:
      return reader.int64();
    case Kind.Uint32:
      return reader.uint32();
    case Kind.Bool:
      return reader.bool();
    case Kind.Float64:
      return reader.float64();
    case Kind.String:
      return step.nullable && !step.array ? reader.nullableString() : reader.string();
    case Kind.Bytes:
      return step.nullable && !step.array ? reader.nullableBytes() : reader.bytes();
    case Kind.Records:
      return reader.nullableBytes();
    case Kind.Uuid:
      return reader.uuid();
    case Kind.Struct:
      return decodeStruct(reader, step.children);
  }
}

/** Decodes one struct by its plan. */
export function decodeStruct(reader: Reader, plan: Plan): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const step of plan) {
    if (step.array) {
      const count = reader.arrayLength(step.minElementBytes);
      if (count === -1) {
        if (!step.nullable) reader.fail(`null array in non-nullable field ${step.name}`);
        result[step.name] = null;
        continue;
      }
      const items: unknown[] = new Array(count);
      for (let i = 0; i < count; i++) items[i] = readValue(reader, step);
      result[step.name] = items;
    } else {
      result[step.name] = readValue(reader, step);
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Generic encoder.

function badValue(step: Step, value: unknown): never {
  throw new ProtocolError(
    ErrorCode.INVALID_REQUEST,
    `cannot encode field ${step.name}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`,
  );
}

function writeValue(writer: Writer, step: Step, value: unknown): void {
  if (step.kind <= Kind.Uint32 || step.kind === Kind.Float64) {
    if (typeof value !== 'number' && !(step.kind === Kind.Int64 && typeof value === 'bigint'))
      badValue(step, value);
  } else if (step.kind === Kind.Bool && typeof value !== 'boolean') badValue(step, value);
  switch (step.kind) {
    case Kind.Int8:
      writer.int8(value as number);
      return;
    case Kind.Int16:
      writer.int16(value as number);
      return;
    case Kind.Int32:
      writer.int32(value as number);
      return;
    case Kind.Int64:
      writer.int64(value as number);
      return;
    case Kind.Uint32:
      writer.uint32(value as number);
      return;
    case Kind.Bool:
      writer.bool(value as boolean);
      return;
    case Kind.Float64:
      writer.float64(value as number);
      return;
    case Kind.String:
      if (value === null || value === undefined) {
        if (!step.nullable || step.array) badValue(step, value);
        writer.int16(-1);
      } else if (typeof value === 'string') writer.string(value);
      else badValue(step, value);
      return;
    case Kind.Bytes:
    case Kind.Records:
      if (value === null || value === undefined) {
        if (step.kind === Kind.Bytes && (!step.nullable || step.array)) badValue(step, value);
        writer.int32(-1);
      } else if (value instanceof Uint8Array) writer.bytes(value);
      else badValue(step, value);
      return;
    case Kind.Uuid:
      writer.uuid(value as string | null);
      return;
    case Kind.Struct:
      if (value === null || typeof value !== 'object') badValue(step, value);
      encodeStruct(writer, step.children, value as Record<string, unknown>);
      return;
  }
}

/** Encodes one struct by its plan; a missing field takes its schema default. */
export function encodeStruct(writer: Writer, plan: Plan, value: Record<string, unknown>): void {
  for (const step of plan) {
    let fieldValue = value[step.name];
    if (fieldValue === undefined) fieldValue = step.defaultValue;
    if (step.array) {
      if (fieldValue === null) {
        if (!step.nullable) badValue(step, fieldValue);
        writer.int32(-1);
        continue;
      }
      if (!Array.isArray(fieldValue)) badValue(step, fieldValue);
      writer.int32(fieldValue.length);
      for (const item of fieldValue) writeValue(writer, step, item);
    } else {
      writeValue(writer, step, fieldValue);
    }
  }
}
