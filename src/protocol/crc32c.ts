/**
 * CRC32C lives in src/lib (src/lib/crc32c.ts) next to the RecordBatch header that uses it;
 * re-exported here so the protocol layer keeps offering it.
 */
export { crc32c } from '../lib/crc32c.js';
