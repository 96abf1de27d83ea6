import type { Logger } from 'pino';
import {
  ApiKey,
  decodeRequestBody,
  decodeRequestHeader,
  ErrorCode,
  encodeFetchResponseChunks,
  encodeResponse,
  type FetchResponse,
  isSupported,
} from '../protocol/index.js';
import { CloseConnection, type ConnectionInfo, type ResponseBytes } from './connection.js';
import type { BrokerContext, Handler } from './context.js';
import { apiVersionsBody } from './handlers/api-versions.js';
import { completeProduceResponse, resolveProduceTopicIds } from './handlers/produce-versions.js';

/**
 * Dispatch by API key and version. Bad bytes never escape as an exception: a header or body the
 * codec rejects closes the connection (CloseConnection); a handler that throws answers with
 * UNKNOWN_SERVER_ERROR (or the error's Kafka code) in that API's error shape.
 */
export class RequestRouter {
  private readonly handlers = new Map<number, Handler>();

  constructor(
    private readonly broker: BrokerContext,
    handlers: readonly Handler[],
    private readonly logger: Logger,
  ) {
    const advertised = new Set(broker.servedApis.map((api) => api.apiKey));
    for (const handler of handlers) {
      if (advertised.has(handler.apiKey)) this.handlers.set(handler.apiKey, handler);
    }
  }

  readonly handle = async (frame: Buffer, connection: ConnectionInfo): Promise<ResponseBytes | null> => {
    let header: ReturnType<typeof decodeRequestHeader>;
    try {
      header = decodeRequestHeader(frame);
    } catch (error) {
      throw new CloseConnection(`undecodable request header: ${(error as Error).message}`);
    }
    const { apiKey, apiVersion, correlationId } = header;
    const handler = this.handlers.get(apiKey);
    if (handler === undefined) {
      throw new CloseConnection(`unknown API key ${apiKey} (version ${apiVersion})`);
    }
    const logger = this.logger.child({ connection: connection.id, apiKey, apiVersion, correlationId });
    if (!isSupported(apiKey, apiVersion)) {
      if (apiKey === ApiKey.ApiVersions) {
        // KIP-511: answer in a v0 body and header with our ranges so the client can pick.
        return encodeResponse(
          ApiKey.ApiVersions,
          0,
          correlationId,
          apiVersionsBody(this.broker.servedApis, ErrorCode.UNSUPPORTED_VERSION),
        );
      }
      return this.rejectVersion(handler, header, frame);
    }
    let request: unknown;
    try {
      request = decodeRequestBody(apiKey, apiVersion, frame, header.bodyOffset);
    } catch (error) {
      throw new CloseConnection(
        `malformed body of API ${apiKey} v${apiVersion}: ${(error as Error).message}`,
      );
    }
    const isProduce = apiKey === ApiKey.Produce;
    if (isProduce) resolveProduceTopicIds(this.broker, request as never, apiVersion);
    let body: object | null;
    try {
      body = await handler.handle(request, { broker: this.broker, header, connection, logger });
    } catch (error) {
      logger.error({ err: error }, 'request handler failed');
      body = handler.errorResponse(request, errorCodeOf(error));
    }
    if (body === null) return null;
    if (isProduce) body = completeProduceResponse(this.broker, request as never, body as never, apiVersion);
    if (apiKey === ApiKey.Fetch) {
      // Record bytes go to the socket as stored: no copy into one response buffer.
      return encodeFetchResponseChunks(apiVersion, correlationId, body as FetchResponse).chunks;
    }
    return encodeResponse(apiKey, apiVersion, correlationId, body);
  };

  /** A version we do not serve: UNSUPPORTED_VERSION when the codec can still read and write that
   * version, otherwise the connection closes (as Kafka does for requests it cannot parse). */
  private rejectVersion(
    handler: Handler,
    header: ReturnType<typeof decodeRequestHeader>,
    frame: Buffer,
  ): Buffer | null {
    try {
      const request = decodeRequestBody(header.apiKey, header.apiVersion, frame, header.bodyOffset);
      const body = handler.errorResponse(request, ErrorCode.UNSUPPORTED_VERSION);
      if (body === null) return null;
      return encodeResponse(header.apiKey, header.apiVersion, header.correlationId, body);
    } catch {
      throw new CloseConnection(`unsupported version ${header.apiVersion} of API ${header.apiKey}`);
    }
  }
}

/** Kafka error code carried by an error (ProtocolError, StorageError), else UNKNOWN_SERVER_ERROR. */
export function errorCodeOf(error: unknown): number {
  const kafkaErrorCode = (error as { kafkaErrorCode?: unknown } | null)?.kafkaErrorCode;
  if (typeof kafkaErrorCode === 'number') return kafkaErrorCode;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number') return code;
  if (typeof code === 'string' && code in ErrorCode) return (ErrorCode as Record<string, number>)[code]!;
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}
