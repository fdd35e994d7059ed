/**
 * Server-Sent Events over `fetch`, because `EventSource` cannot send an `Authorization` header.
 * {@link SseParser} is the pure part (the WHATWG "event stream interpretation": `event:`,
 * `data:` lines joined by `\n`, `id:`, `retry:`, comments, a blank line dispatches, CR, LF and
 * CRLF line ends, lines split across chunks); {@link streamEvents} reads a response body with it
 * and reconnects after `retry` ms until the stream says it is done or the caller aborts.
 *
 * ```ts
 * const parser = new SseParser();
 * parser.push('event: progress\ndata: {"status":"running"}\n\n');
 * // → [{ event: 'progress', data: '{"status":"running"}', id: '' }]
 * ```
 */

export interface SseEvent {
  /** `message` when the stream named none. */
  event: string;
  data: string;
  /** The last event id seen (`''` when none). */
  id: string;
}

export class SseParser {
  /** Reconnection delay the stream asked for (`retry:`), in ms; null when it did not. */
  retryMs: number | null = null;
  lastEventId = '';
  private buffer = '';
  private eventType = '';
  private data: string[] = [];
  /** The previous chunk ended in CR: a LF opening the next one belongs to it. */
  private pendingCr = false;

  /** Feeds a chunk of text; returns the events it completed. */
  push(chunk: string): SseEvent[] {
    let text = chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) this.pendingCr = true;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  /** The end of the stream: a last event without its blank line is dropped, as the spec says. */
  end(): void {
    this.buffer = '';
    this.eventType = '';
    this.data = [];
  }

  private line(line: string): SseEvent | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
    return null;
  }

  private dispatch(): SseEvent | null {
    const type = this.eventType;
    const data = this.data;
    this.eventType = '';
    this.data = [];
    if (data.length === 0) return null;
    return { event: type || 'message', data: data.join('\n'), id: this.lastEventId };
  }
}

export interface StreamOptions {
  /** Ends the stream for good (the page went away). */
  signal: AbortSignal;
  /** Opens the stream: a fetch with the bearer token. */
  open: (signal: AbortSignal, lastEventId: string) => Promise<Response>;
  onEvent: (event: SseEvent) => void;
  /** Whether the stream is over for good (say, once `event: done` arrived): no reconnection. */
  isDone: () => boolean;
  /**
   * A failed (re)connection: the stream tries again after the retry delay, unless this returns
   * false (a 401 or a 404 will not get better).
   */
  onError?: (error: unknown) => boolean | undefined;
  /** @defaultValue 1000 ms, or what the stream's `retry:` said */
  retryMs?: number;
}

/**
 * Reads the event stream until `isDone()` or the signal aborts, reconnecting when the connection
 * drops. Resolves when it stops.
 */
export async function streamEvents(options: StreamOptions): Promise<void> {
  const { signal } = options;
  let retryMs = options.retryMs ?? 1000;
  let lastEventId = '';
  while (!signal.aborted && !options.isDone()) {
    const parser = new SseParser();
    parser.lastEventId = lastEventId;
    try {
      const response = await options.open(signal, lastEventId);
      if (!response.ok || !response.body) throw new Error(`event stream: HTTP ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parser.push(value)) {
            options.onEvent(event);
            if (options.isDone()) break;
          }
          if (parser.retryMs !== null) retryMs = parser.retryMs;
          lastEventId = parser.lastEventId;
          if (options.isDone() || signal.aborted) break;
        }
      } finally {
        parser.end();
        await reader.cancel().catch(() => {});
      }
    } catch (error) {
      if (signal.aborted) return;
      if (options.onError?.(error) === false) return;
    }
    if (signal.aborted || options.isDone()) return;
    await sleep(retryMs, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
