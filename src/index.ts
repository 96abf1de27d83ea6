export type { KafkaOffset, LogIndex, NodeId, Term } from './lib/ids.js';
