import test from 'ava';
import { FrameError, FrameReader } from '../../src/broker/frame-reader.js';
import { ApiKey, decodeResponse, encodeRequest } from '../../src/protocol/index.js';
import { RawClient, startBroker } from './helpers.js';

function frame(payload: string): Buffer {
  const body = Buffer.from(payload);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

test('the frame reader reassembles frames split at every byte boundary and several frames per chunk', (t) => {
  const stream = Buffer.concat([frame('alpha'), frame(''), frame('a longer third frame'), frame('z')]);
  for (let cut = 1; cut < stream.length; cut++) {
    const reader = new FrameReader(1024);
    const out: string[] = [];
    for (const chunk of [stream.subarray(0, cut), stream.subarray(cut)]) {
      reader.push(chunk);
      for (let next = reader.next(); next !== null; next = reader.next()) out.push(next.toString());
    }
    t.deepEqual(out, ['alpha', '', 'a longer third frame', 'z'], `cut at ${cut}`);
    t.is(reader.pendingBytes, 0);
  }
});

test('the frame reader rejects a size over the cap as soon as the size prefix arrives', (t) => {
  const reader = new FrameReader(100);
  reader.push(Buffer.from([0, 0, 0]));
  t.is(reader.next(), null);
  reader.push(Buffer.from([101]));
  t.throws(() => reader.next(), { instanceOf: FrameError });
});

test('a client pipelining far more requests than the in-flight cap gets every response, in order', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const count = 1000;
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    frames.push(
      encodeRequest({ apiKey: ApiKey.ApiVersions, apiVersion: 2, correlationId: i, clientId: 'pipe' }, {}),
    );
  }
  const responses = Array.from({ length: count }, () => client.nextFrame());
  client.write(Buffer.concat(frames)); // one burst: the broker must pause and resume reading
  const ids = (await Promise.all(responses)).map(
    (f) => decodeResponse(ApiKey.ApiVersions, 2, f).correlationId,
  );
  t.deepEqual(
    ids,
    Array.from({ length: count }, (_, i) => i),
  );
});
