import { gunzipSync, gzipSync } from 'node:zlib';
import type { Codecs } from '../protocol/records.js';
import { GoqueueError } from './errors.js';

/** Compression names the SDK accepts, with Kafka's codec ids. */
export const COMPRESSION_CODECS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof COMPRESSION_CODECS;

export function codecId(name: CompressionName | undefined): number {
  if (name === undefined) return 0;
  const id = COMPRESSION_CODECS[name];
  if (id === undefined) {
    throw new GoqueueError(
      `unknown compression "${name}"; use one of ${Object.keys(COMPRESSION_CODECS).join(', ')}`,
    );
  }
  return id;
}

/** What the SDK uses from the native core: codecs and the batch validator (CRC32C and more). */
export interface NativeSupport {
  codecs: Codecs;
  crc32c(bytes: Buffer): number;
  validateBatches(records: Buffer, maxBatchBytes: number): unknown;
}

/** Why the native core is not there (its one-line message), once nativeSupport() has looked. */
let missingReason: string | null = null;
let loaded: Promise<NativeSupport | null> | null = null;

/**
 * The native core, loaded on first use (the binding is only imported through src/storage).
 * Null when it cannot be loaded (its platform package is not installed): uncompressed and gzip
 * traffic then work in pure JS, and a warning says once which codecs are unavailable.
 */
export function nativeSupport(): Promise<NativeSupport | null> {
  loaded ??= import('../storage/index.js').then(
    (storage) => {
      try {
        storage.nativeBinding();
      } catch (error) {
        if (!(error instanceof storage.NativeModuleMissingError)) throw error;
        warnMissing(error.message);
        return null;
      }
      return {
        codecs: storage.nativeCodecs,
        validateBatches: storage.validateBatches,
        crc32c: storage.nativeCrc32c,
      };
    },
    (error: unknown) => {
      warnMissing(error instanceof Error ? error.message : String(error));
      return null;
    },
  );
  return loaded;
}

function warnMissing(reason: string): void {
  missingReason = reason;
  process.emitWarning(
    `goqueue: snappy, lz4 and zstd compression are unavailable (${reason}); ` +
      'uncompressed and gzip messages work without it',
    { code: 'GOQUEUE_NATIVE_MODULE_MISSING' },
  );
}

function unavailable(codec: number): GoqueueError {
  const name = Object.entries(COMPRESSION_CODECS).find(([, id]) => id === codec)?.[0] ?? `codec ${codec}`;
  return new GoqueueError(
    `${name} compression needs goqueue's native module: ${missingReason ?? 'it could not be loaded'}`,
  );
}

/**
 * The codecs without the native core: gzip on node:zlib (the same bytes any Kafka client
 * reads), every other codec a GoqueueError naming what to install.
 */
export const javascriptCodecs: Codecs = {
  compress(codec, data) {
    if (codec === COMPRESSION_CODECS.gzip) return gzipSync(data);
    throw unavailable(codec);
  },
  decompress(codec, data) {
    if (codec === COMPRESSION_CODECS.gzip) return gunzipSync(data);
    throw unavailable(codec);
  },
};

/**
 * The codecs for `codec`: the native ones when the core loads, gzip in JS otherwise; a
 * GoqueueError naming the codec and the package to install when neither can do it.
 */
export async function nativeCodecs(codec = 0): Promise<Codecs> {
  const support = await nativeSupport();
  if (support) return support.codecs;
  if (codec === COMPRESSION_CODECS.gzip) return javascriptCodecs;
  throw unavailable(codec);
}
