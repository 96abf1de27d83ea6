import type { BrokerContext } from '../context.js';

/**
 * Topic ids on the wire (KIP-516: Fetch v13+, Metadata v10+) are 16 bytes the codec gives as 32
 * hex digits; the controller keeps them as dashed UUID text. These convert between the two.
 */
export const ZERO_TOPIC_ID = '00000000000000000000000000000000';

/** The wire form (32 hex digits) of a topic's id; the zero id when the topic is unknown. */
export function wireTopicId(broker: BrokerContext, name: string): string {
  const id = broker.topics.get(name)?.record.topicId;
  return id === undefined ? ZERO_TOPIC_ID : id.replaceAll('-', '').toLowerCase();
}

/** The name of the topic with wire id `hex`, or undefined (UNKNOWN_TOPIC_ID). */
export function topicNameOfId(broker: BrokerContext, hex: string | null | undefined): string | undefined {
  if (typeof hex !== 'string' || hex.length !== 32 || hex === ZERO_TOPIC_ID) return undefined;
  const dashed = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return broker.controller.state.topicById(dashed)?.name;
}
