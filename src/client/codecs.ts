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

let loaded: Promise<NativeSupport | null> | null = null;

/**
 * The native core, loaded on first use (the binding is only imported through src/storage).
 * Null when it cannot be loaded: plain traffic then works in pure JS; compression does not.
 */
export function nativeSupport(): Promise<NativeSupport | null> {
  loaded ??= import('../storage/index.js').then(
    (storage) => ({
      codecs: storage.nativeCodecs,
      validateBatches: storage.validateBatches,
      crc32c: storage.nativeCrc32c,
    }),
    () => null,
  );
  return loaded;
}

/** The native codecs; a GoqueueError naming the codec when the native core is missing. */
export async function nativeCodecs(codec = 0): Promise<Codecs> {
  const support = await nativeSupport();
  if (!support) {
    const name = Object.entries(COMPRESSION_CODECS).find(([, id]) => id === codec)?.[0] ?? `codec ${codec}`;
    throw new GoqueueError(`${name} compression needs goqueue's native module, which could not be loaded`);
  }
  return support.codecs;
}
