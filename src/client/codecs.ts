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

let loaded: Promise<Codecs> | null = null;

/**
 * The native codecs, loaded on first use so that uncompressed traffic never needs the native
 * module (the binding is only imported through src/storage).
 */
export function nativeCodecs(): Promise<Codecs> {
  loaded ??= import('../storage/index.js').then((storage) => storage.nativeCodecs);
  return loaded;
}
