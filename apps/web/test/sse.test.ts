import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SseEvent, SseParser, streamEvents } from '../src/sse.js';

const STREAM =
  'retry: 1000\n\nevent: progress\ndata: {"status":"running"}\n\n: keep-alive\n\nevent: done\ndata: {"status":"succeeded"}\n\n';

describe('SSE parsing', () => {
  it("parses the API's stream: retry, named events, comments", () => {
    const parser = new SseParser();
    const events = parser.push(STREAM);
    assert.deepEqual(events, [
      { event: 'progress', data: '{"status":"running"}', id: '' },
      { event: 'done', data: '{"status":"succeeded"}', id: '' },
    ]);
    assert.equal(parser.retryMs, 1000);
  });

  it('gives the same events however the text is cut into chunks', () => {
    for (let size = 1; size <= 7; size++) {
      const parser = new SseParser();
      const events: SseEvent[] = [];
      for (let i = 0; i < STREAM.length; i += size)
        events.push(...parser.push(STREAM.slice(i, i + size)));
      assert.equal(events.length, 2, `chunks of ${size}`);
      assert.equal(events[1]?.event, 'done');
    }
  });

  it('handles CRLF and CR line ends, also a CRLF split across chunks', () => {
    const parser = new SseParser();
    const events = [
      ...parser.push('event: a\r'),
      ...parser.push('\ndata: 1\r\n\r'),
      ...parser.push('\nevent: b\rdata: 2\r\r'),
    ];
    assert.deepEqual(
      events.map((e) => [e.event, e.data]),
      [
        ['a', '1'],
        ['b', '2'],
      ],
    );
  });

  it('joins data lines with newlines, strips one space after the colon, defaults to "message"', () => {
    const parser = new SseParser();
    const [event] = parser.push('data:  two spaces\ndata\ndata: third\nid: 7\n\n');
    assert.deepEqual(event, { event: 'message', data: ' two spaces\n\nthird', id: '7' });
  });

  it('dispatches nothing for an event without data, and drops an unfinished last event', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('event: lonely\n\n'), []);
    assert.deepEqual(parser.push('event: x\ndata: y'), []);
    parser.end();
    assert.deepEqual(parser.push('\n\n'), []);
  });
});

function body(chunks: string[]): Response {
  const encoder = new TextEncoder();
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(encoder.encode(c));
        controller.close();
      },
    }),
    { headers: { 'content-type': 'text/event-stream' } },
  );
}

describe('streamEvents', () => {
  it('reads events from a fetch body, reconnects when the stream drops, stops at done', async () => {
    const opened: number[] = [];
    const seen: string[] = [];
    let done = false;
    await streamEvents({
      signal: new AbortController().signal,
      retryMs: 5,
      open: async () => {
        opened.push(opened.length);
        return opened.length === 1
          ? body(['retry: 5\n\nevent: progress\nda', 'ta: 1\n\n'])
          : body([
              'event: progress\ndata: 2\n\nevent: done\ndata: {}\n\nevent: progress\ndata: 3\n\n',
            ]);
      },
      onEvent: (e) => {
        seen.push(`${e.event}:${e.data}`);
        if (e.event === 'done') done = true;
      },
      isDone: () => done,
    });
    assert.equal(opened.length, 2);
    assert.deepEqual(seen, ['progress:1', 'progress:2', 'done:{}']);
  });

  it('stops when onError says so, and when the signal aborts', async () => {
    let tries = 0;
    await streamEvents({
      signal: new AbortController().signal,
      retryMs: 1,
      open: async () => {
        tries++;
        throw new Error('401');
      },
      onEvent: () => {},
      isDone: () => false,
      onError: () => tries < 3,
    });
    assert.equal(tries, 3);

    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    await streamEvents({
      signal: controller.signal,
      retryMs: 60_000,
      open: async () => body([': nothing\n\n']),
      onEvent: () => {},
      isDone: () => false,
    });
    assert.ok(Date.now() - started < 5000);
  });
});
