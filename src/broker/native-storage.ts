import { nativeCodecs, openNativeLog, validateProduceBatches } from '../storage/index.js';
import type { BrokerStorage } from './storage.js';

/** The broker's storage on the native core (src/storage, the Rust segment log). */
export const nativeStorage: BrokerStorage = {
  openLog: (directory, options) => openNativeLog(directory, options),
  validateBatches: (records, maxBatchBytes, recompression) =>
    validateProduceBatches(records, maxBatchBytes, recompression),
  codecs: nativeCodecs,
};
