/**
 * Whole Kafka frames: request/response headers plus bodies, through the schemas. A frame is the
 * bytes after the 4-byte size prefix; encoders return frames WITH the prefix.
 *
 *   Request header v1/v2 => apiKey(INT16) apiVersion(INT16) correlationId(INT32)
 *                           clientId(NULLABLE_STRING) [tagged fields, v2 = flexible versions]
 *   Response header v0/v1 => correlationId(INT32) [tagged fields, v1 = flexible versions]
 *
 * A flexible version's response takes header v1, except ApiVersions: its response header is
 * always v0, so a client can read it before it knows which versions the broker speaks.
 */
import { ErrorCode, ProtocolError } from './errors.js';
import { encodeFetchResponseChunks, type FetchResponse } from './fetch-response.js';
import { decodeProduceRequest } from './produce-request.js';
import { Reader } from './reader.js';
import { type ApiSchema, decodeStruct, encodeStruct, planFor } from './schema.js';
import { schemaFor } from './schemas/index.js';
import { ApiKey, SUPPORTED_APIS } from './versions.js';
import { Writer } from './writer.js';

/** A decoded body: its shape is the API's schema for that version (typed by the caller). */
// biome-ignore lint/suspicious/noExplicitAny: bodies are typed per API by the caller
export type Body = any;

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

export interface DecodedRequestHeader extends RequestHeader {
  /** Where the body starts in the frame. */
  bodyOffset: number;
  /** The request uses a flexible version (header v2 with tagged fields). */
  flexible: boolean;
}

function schemaOrThrow(apiKey: number): ApiSchema {
  const schema = schemaFor(apiKey);
  if (schema === undefined) throw new ProtocolError(ErrorCode.INVALID_REQUEST, `unknown API key ${apiKey}`);
  return schema;
}

/** True when `apiVersion` of the API is flexible (KIP-482). */
export function isFlexible(schema: ApiSchema, apiVersion: number): boolean {
  return schema.flexibleFrom !== undefined && apiVersion >= schema.flexibleFrom;
}

/** Whether a response of this API and version carries response header v1 (tagged fields). */
function responseHeaderFlexible(schema: ApiSchema, apiVersion: number): boolean {
  return schema.apiKey !== ApiKey.ApiVersions && isFlexible(schema, apiVersion);
}

function checkVersion(schema: ApiSchema, apiVersion: number): void {
  if (apiVersion < schema.versions[0] || apiVersion > schema.versions[1])
    throw new ProtocolError(
      ErrorCode.UNSUPPORTED_VERSION,
      `${schema.name} v${apiVersion} is not supported (codec knows v${schema.versions[0]}-${schema.versions[1]})`,
    );
}

/** Turns any non-ProtocolError thrown while encoding (bad field values) into one. */
function encodeFailure(error: unknown, what: string): never {
  if (error instanceof ProtocolError) throw new ProtocolError(error.code, `${what}: ${error.message}`);
  throw new ProtocolError(
    ErrorCode.INVALID_REQUEST,
    `cannot encode ${what}: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/**
 * Reads the request header of `frame`. Works for every API key and version, known or not, so the
 * broker can always answer: for a flexible version of a known API (e.g. ApiVersions v3, which
 * librdkafka sends first) it also skips the header's tagged fields. Throws ProtocolError when
 * even the header is malformed.
 */
export function decodeRequestHeader(frame: Buffer): DecodedRequestHeader {
  const reader = new Reader(frame);
  const apiKey = reader.int16();
  const apiVersion = reader.int16();
  const correlationId = reader.int32();
  const clientId = reader.nullableString();
  const firstFlexible = schemaFor(apiKey)?.flexibleFrom;
  const flexible = firstFlexible !== undefined && apiVersion >= firstFlexible;
  if (flexible) reader.skipTaggedFields();
  return { apiKey, apiVersion, correlationId, clientId, bodyOffset: reader.offset, flexible };
}

/**
 * Decodes a request body. Versions outside the schema throw ProtocolError(UNSUPPORTED_VERSION),
 * except ApiVersions above the schema, read as its newest version (KIP-511: a newer client's
 * request must still get our ranges back).
 */
export function decodeRequestBody(
  apiKey: number,
  apiVersion: number,
  frame: Buffer,
  bodyOffset: number,
): Body {
  const schema = schemaOrThrow(apiKey);
  if (apiKey === ApiKey.ApiVersions && apiVersion > schema.versions[1]) {
    try {
      return decodeBody(schema, schema.versions[1], frame, bodyOffset);
    } catch {
      return {};
    }
  }
  checkVersion(schema, apiVersion);
  if (apiKey === ApiKey.Produce) return decodeProduceRequest(frame, bodyOffset, apiVersion);
  return decodeBody(schema, apiVersion, frame, bodyOffset);
}

function decodeBody(schema: ApiSchema, apiVersion: number, frame: Buffer, bodyOffset: number): Body {
  return decodeStruct(
    new Reader(frame, bodyOffset),
    planFor(schema.request, apiVersion, isFlexible(schema, apiVersion)),
  );
}

/** The schema-driven decoder for any request body (the hot paths bypass it; tests compare). */
export function decodeRequestBodyGeneric(
  apiKey: number,
  apiVersion: number,
  frame: Buffer,
  bodyOffset: number,
): Record<string, unknown> {
  const schema = schemaOrThrow(apiKey);
  checkVersion(schema, apiVersion);
  return decodeBody(schema, apiVersion, frame, bodyOffset);
}

/** Encodes a response frame (size prefix + response header v0 or v1 + body). */
export function encodeResponse(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: object,
): Buffer {
  return encodeResponseFrame(apiKey, apiVersion, correlationId, body, true);
}

function encodeResponseFrame(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: object,
  hotPath: boolean,
): Buffer {
  const schema = schemaOrThrow(apiKey);
  checkVersion(schema, apiVersion);
  try {
    if (hotPath && apiKey === ApiKey.Fetch) {
      const { chunks, byteLength } = encodeFetchResponseChunks(
        apiVersion,
        correlationId,
        body as FetchResponse,
      );
      return Buffer.concat(chunks, byteLength);
    }
    return encodeResponseGeneric(schema, apiVersion, correlationId, body);
  } catch (error) {
    return encodeFailure(error, `${schema.name} v${apiVersion} response`);
  }
}

function encodeResponseGeneric(
  schema: ApiSchema,
  apiVersion: number,
  correlationId: number,
  body: object,
): Buffer {
  const writer = new Writer(256);
  const sizeAt = writer.reserveInt32();
  writer.int32(correlationId);
  if (responseHeaderFlexible(schema, apiVersion)) writer.emptyTaggedFields();
  encodeStruct(
    writer,
    planFor(schema.response, apiVersion, isFlexible(schema, apiVersion)),
    body as Record<string, unknown>,
  );
  writer.patchInt32(sizeAt, writer.offset - 4);
  return writer.finish();
}

/** The schema-driven response encoder (the Fetch hot path bypasses it; tests compare). */
export function encodeResponseBodyGeneric(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: object,
): Buffer {
  return encodeResponseFrame(apiKey, apiVersion, correlationId, body, false);
}

/**
 * The KIP-511 answer to an ApiVersions request of a version goqueue does not serve:
 * UNSUPPORTED_VERSION with our advertised ranges, in a v0 body behind a v0 response header,
 * which every client can read whatever version it sent. The client then retries with our max.
 */
export function encodeApiVersionsFallback(correlationId: number): Buffer {
  return encodeResponse(ApiKey.ApiVersions, 0, correlationId, {
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: SUPPORTED_APIS,
  });
}

/** Encodes a request frame (size prefix + header v1, or v2 for a flexible version, + body). */
export function encodeRequest(header: RequestHeader, body: object): Buffer {
  const schema = schemaOrThrow(header.apiKey);
  checkVersion(schema, header.apiVersion);
  try {
    const writer = new Writer(256);
    const sizeAt = writer.reserveInt32();
    writer.int16(header.apiKey);
    writer.int16(header.apiVersion);
    writer.int32(header.correlationId);
    writer.nullableString(header.clientId);
    const flexible = isFlexible(schema, header.apiVersion);
    if (flexible) writer.emptyTaggedFields();
    encodeStruct(
      writer,
      planFor(schema.request, header.apiVersion, flexible),
      body as Record<string, unknown>,
    );
    writer.patchInt32(sizeAt, writer.offset - 4);
    return writer.finish();
  } catch (error) {
    return encodeFailure(error, `${schema.name} v${header.apiVersion} request`);
  }
}

/** Decodes a response frame (after the size prefix) of a request sent with `apiVersion`. */
export function decodeResponse(
  apiKey: number,
  apiVersion: number,
  frame: Buffer,
): { correlationId: number; body: Body } {
  const schema = schemaOrThrow(apiKey);
  checkVersion(schema, apiVersion);
  const reader = new Reader(frame);
  const correlationId = reader.int32();
  if (responseHeaderFlexible(schema, apiVersion)) reader.skipTaggedFields();
  const body = decodeStruct(reader, planFor(schema.response, apiVersion, isFlexible(schema, apiVersion)));
  return { correlationId, body };
}
