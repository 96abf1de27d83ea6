import { nativeBinding, nativeCodecs, openNativeLog, validateProduceBatches } from '../storage/index.js';
import type { BrokerStorage } from './storage.js';

export { NativeModuleMissingError } from '../storage/index.js';

/** The broker's storage on the native core (src/storage, the Rust segment log). */
export const nativeStorage: BrokerStorage = {
  openLog: (directory, options) => openNativeLog(directory, options),
  validateBatches: (records, maxBatchBytes, recompression) =>
    validateProduceBatches(records, maxBatchBytes, recompression),
  codecs: nativeCodecs,
};

/**
 * Loads the native core now. Throws NativeModuleMissingError, whose one-line message names the
 * platform and the package to install, when it cannot be loaded (the CLI checks before starting).
 */
export function requireNativeStorage(): void {
  nativeBinding();
}
