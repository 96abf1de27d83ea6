import test from 'ava';
import {
  AbortError,
  ConnectionError,
  GoqueueError,
  isRetriable,
  KafkaProtocolError,
  needsMetadataRefresh,
  TimeoutError,
} from '../../src/client/errors.js';

test('a broker error code becomes a KafkaProtocolError with code, name, retriable flag and a hint', (t) => {
  const error = new KafkaProtocolError(3, { topic: 'orders', partition: 2 });
  t.true(error instanceof GoqueueError);
  t.true(error instanceof Error);
  t.is(error.code, 3);
  t.is(error.errorName, 'UNKNOWN_TOPIC_OR_PARTITION');
  t.true(error.retriable);
  t.regex(error.message, /UNKNOWN_TOPIC_OR_PARTITION \[3\] \(topic "orders" partition 2\)/);
  t.regex(error.message, /create the topic first/);
});

test('non-retriable codes say so, and the retriable flag can be overridden', (t) => {
  t.false(new KafkaProtocolError(36, { topic: 'x' }).retriable);
  t.false(new KafkaProtocolError(3, { topic: 'x', retriable: false }).retriable);
  t.true(new KafkaProtocolError(6).retriable);
});

test('timeouts and broken connections are retriable and need fresh metadata; aborts are neither', (t) => {
  const timeout = new TimeoutError('request Metadata', 250);
  const connection = new ConnectionError('127.0.0.1:1', 'ECONNREFUSED');
  const abort = new AbortError();
  t.true(isRetriable(timeout) && isRetriable(connection));
  t.true(needsMetadataRefresh(timeout) && needsMetadataRefresh(connection));
  t.false(isRetriable(abort));
  t.false(needsMetadataRefresh(abort));
  t.true(needsMetadataRefresh(new KafkaProtocolError(6)));
  t.false(needsMetadataRefresh(new KafkaProtocolError(10)));
  t.false(isRetriable(new Error('plain')));
});
