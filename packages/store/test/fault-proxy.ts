/**
 * A fault-injecting HTTP proxy for tests: it sits between an S3 client and an S3-compatible
 * server on loopback, forwards requests, and on command answers 5xx, holds a request without
 * answering (past the client's timeout), breaks a GET body off mid-transfer, or serves a GET body
 * cut short as if it were the whole object. It counts what it injected, and the SDK's retries it
 * saw (the `amz-sdk-request: attempt=N` header), so drills can print them.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  /** An S3 error answer: 500 InternalError, 503 SlowDown (throttling) or 503 ServiceUnavailable. */
  | {
      kind: 'status';
      status: 500 | 503;
      code?: 'InternalError' | 'SlowDown' | 'ServiceUnavailable';
    }
  /** No answer at all: the client must time out. */
  | { kind: 'hang' }
  /** GET: the headers and half of the body, then the connection is dropped. */
  | { kind: 'cut' }
  /** GET: the first half of the body, served as a complete object (Content-Length rewritten). */
  | { kind: 'short' };

export interface InjectOptions {
  /** This many matching requests get the fault (default: 1, or unlimited with `forMs`). */
  times?: number;
  /** The fault lasts this long from now (then `times` is unlimited unless given). */
  forMs?: number;
  /** Only requests of this method (default: any; GET for `cut` and `short`). */
  method?: string;
  /** Only requests whose path matches. */
  path?: RegExp;
}

export interface ProxyCounts {
  requests: number;
  /** Requests passed through to the server untouched. */
  forwarded: number;
  /** 5xx answers injected. */
  serverErrors: number;
  /** Requests held without an answer. */
  hangs: number;
  /** GET bodies dropped mid-transfer. */
  cuts: number;
  /** GET bodies served short as whole. */
  shorts: number;
  /** Requests that the SDK marked as a retry (attempt > 1). */
  sdkRetries: number;
  /** GETs of a path, passed through whole, after a body of that path was cut or shortened. */
  rereadsAfterTruncation: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give it to the client as its endpoint. */
  readonly url: string;
  readonly counts: ProxyCounts;
  inject(fault: Fault, options?: InjectOptions): void;
  /** Faults injected with `times` that have not all happened yet. */
  pending(): number;
  /** Drops every pending fault and releases nothing that is hung (those the client times out). */
  clear(): void;
  close(): Promise<void>;
}

interface Rule {
  fault: Fault;
  remaining: number;
  until: number;
  method: string | null;
  path: RegExp | null;
}

const S3_ERRORS: Record<string, string> = {
  InternalError: 'We encountered an internal error. Please try again.',
  SlowDown: 'Please reduce your request rate.',
  ServiceUnavailable: 'Service is unable to handle request.',
};

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const counts: ProxyCounts = {
    requests: 0,
    forwarded: 0,
    serverErrors: 0,
    hangs: 0,
    cuts: 0,
    shorts: 0,
    sdkRetries: 0,
    rereadsAfterTruncation: 0,
  };
  let rules: Rule[] = [];
  const truncated = new Set<string>();
  const sockets = new Set<Socket>();

  /** The first live rule for `req`; a body fault is spent only once it is applied. */
  function take(req: IncomingMessage): Rule | null {
    const now = Date.now();
    rules = rules.filter((r) => r.remaining > 0 && r.until > now);
    const rule = rules.find(
      (r) =>
        (r.method === null || r.method === req.method) &&
        (r.path === null || r.path.test(req.url ?? '')),
    );
    if (rule && (rule.fault.kind === 'status' || rule.fault.kind === 'hang')) rule.remaining -= 1;
    return rule ?? null;
  }

  function answerError(res: ServerResponse, status: number, code: string) {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${S3_ERRORS[code] ?? code}</Message></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': body.length });
    res.end(body);
  }

  function forward(req: IncomingMessage, res: ServerResponse, rule: Rule | null) {
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        const path = req.url ?? '';
        const whole = answer.statusCode === 200 && req.method === 'GET';
        const fault = rule && rule.remaining > 0 && whole ? rule.fault : null;
        if (!fault) {
          if (whole && truncated.delete(path)) counts.rereadsAfterTruncation += 1;
          counts.forwarded += 1;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        (rule as Rule).remaining -= 1;
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          const half = Math.floor(body.length / 2);
          truncated.add(path);
          if (fault.kind === 'short') {
            counts.shorts += 1;
            res.writeHead(200, { ...answer.headers, 'content-length': String(half) });
            res.end(body.subarray(0, half));
            return;
          }
          counts.cuts += 1;
          res.writeHead(200, answer.headers);
          res.write(body.subarray(0, half), () => res.socket?.destroy());
        });
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  }

  const server = createServer((req, res) => {
    counts.requests += 1;
    const attempt = /attempt=(\d+)/.exec(String(req.headers['amz-sdk-request'] ?? ''));
    if (attempt && Number(attempt[1]) > 1) counts.sdkRetries += 1;
    const rule = take(req);
    const fault = rule?.fault;
    if (fault?.kind === 'status') {
      counts.serverErrors += 1;
      req.resume();
      req.on('end', () =>
        answerError(
          res,
          fault.status,
          fault.code ?? (fault.status === 503 ? 'ServiceUnavailable' : 'InternalError'),
        ),
      );
      return;
    }
    if (fault?.kind === 'hang') {
      counts.hangs += 1;
      req.resume(); // read the body, answer nothing: the client's timeout must fire
      return;
    }
    forward(req, res, rule);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    inject(fault, options = {}) {
      const bodyFault = fault.kind === 'cut' || fault.kind === 'short';
      rules.push({
        fault,
        remaining: options.times ?? (options.forMs !== undefined ? Number.POSITIVE_INFINITY : 1),
        until: options.forMs !== undefined ? Date.now() + options.forMs : Number.POSITIVE_INFINITY,
        method: options.method ?? (bodyFault ? 'GET' : null),
        path: options.path ?? null,
      });
    },
    pending() {
      const now = Date.now();
      return rules.filter((r) => Number.isFinite(r.remaining) && r.remaining > 0 && r.until > now)
        .length;
    },
    clear() {
      rules = [];
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
