import { nativeCodecs, openNativeLog, validateBatches } from '../storage/index.js';
import type { BrokerStorage } from './storage.js';

/** The broker's storage on the native core (src/storage, the Rust segment log). */
export const nativeStorage: BrokerStorage = {
  openLog: (directory, options) => openNativeLog(directory, options),
  validateBatches: (records, maxBatchBytes) => validateBatches(records, maxBatchBytes),
  codecs: nativeCodecs,
};
