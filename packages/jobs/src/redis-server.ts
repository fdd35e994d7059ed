/**
 * A redis-server child process for the embedded stack (`rdlab up`) and for tests: loopback only,
 * append-only file fsynced every second, no eviction (BullMQ must never lose keys to
 * `maxmemory`), no RDB snapshots. Starting again on the same `dataDir` recovers the queued jobs
 * from the AOF.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { RedisServerError } from './errors.js';

export interface RedisServerOptions {
  /** Directory of the append-only file; created if missing. Reusing it recovers the data. */
  dataDir: string;
  /**
   * TCP port on 127.0.0.1.
   * @defaultValue a free port chosen at start
   */
  port?: number;
  /**
   * Path of the `redis-server` binary.
   * @defaultValue `redis-server` found on PATH
   */
  binary?: string;
  /**
   * How long to wait for the server to answer (AOF loading included).
   * @defaultValue 15000
   */
  startTimeoutMs?: number;
  /**
   * How long `stop()` waits for a clean exit before SIGKILL.
   * @defaultValue 15000
   */
  stopTimeoutMs?: number;
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, for `redisConnection`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Clean shutdown (SHUTDOWN, else SIGTERM): the AOF is flushed and kept. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would (the last second of writes may be lost). Idempotent. */
  kill(): Promise<void>;
}

const optionsSchema = z
  .object({
    dataDir: z.string().min(1),
    port: z.number().int().min(1).max(65535).optional(),
    binary: z.string().min(1).optional(),
    startTimeoutMs: z.number().int().positive().optional(),
    stopTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

const OUTPUT_TAIL_CHARS = 4000;

/**
 * Starts `redis-server` and resolves once it answers. Throws `RDLAB_REDIS_SERVER_NOT_FOUND`
 * when there is no binary, `RDLAB_REDIS_SERVER_START_FAILED` (with the server's output) when it
 * exits or does not answer in time.
 */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RedisServerError(
      'RDLAB_REDIS_SERVER_OPTIONS_INVALID',
      `startRedisServer: ${issue?.path.join('.') || 'options'}: ${issue?.message}`,
    );
  }
  const opts = { startTimeoutMs: 15_000, stopTimeoutMs: 15_000, ...parsed.data };
  const binary = await findBinary(opts.binary);
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  // A chosen free port can be taken before redis binds it: try a fresh one a few times.
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      return await launch(binary, dataDir, port, opts.startTimeoutMs, opts.stopTimeoutMs);
    } catch (error) {
      const portTaken = error instanceof Error && /address already in use/i.test(error.message);
      if (opts.port !== undefined || !portTaken || attempt >= 3) throw error;
    }
  }
}

async function launch(
  binary: string,
  dataDir: string,
  port: number,
  startTimeoutMs: number,
  stopTimeoutMs: number,
): Promise<RedisServer> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dataDir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '',
    '--daemonize',
    'no',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // Never leave an orphan redis-server behind if this process exits without stopping it.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const exited = new Promise<void>((done) => {
    child.once('exit', () => {
      process.off('exit', killOnExit);
      done();
    });
  });
  const spawnError = new Promise<Error>((done) =>
    child.once('error', (error) => {
      process.off('exit', killOnExit);
      done(error);
    }),
  );

  const failed = (why: string) =>
    new RedisServerError(
      'RDLAB_REDIS_SERVER_START_FAILED',
      `redis-server (${binary}, port ${port}, dir ${dataDir}) ${why}${output ? `\n${output.trim()}` : ''}`,
    );
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw failed(`exited (${child.exitCode ?? child.signalCode}) before answering`);
    }
    // Another server may already hold the port: ready means *this* process answers.
    const reply = await command(port, ['INFO', 'server'], 1000).catch(() => null);
    if (reply?.includes(`process_id:${child.pid}\r\n`)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw failed(
        `did not answer within ${startTimeoutMs} ms (last reply: ${reply?.split('\r\n')[0]})`,
      );
    }
    const error = await Promise.race([spawnError, sleep(50).then(() => null)]);
    if (error) throw failed(`could not be spawned: ${error.message}`);
  }

  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    async stop() {
      if (!running()) return;
      // SHUTDOWN flushes and fsyncs the AOF, then closes the connection without a reply.
      const reply = await command(port, ['SHUTDOWN'], stopTimeoutMs).catch(() => null);
      if (reply?.startsWith('-')) child.kill('SIGTERM');
      await waitOrKill(child, exited, stopTimeoutMs);
    },
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
  };
}

async function waitOrKill(child: ChildProcess, exited: Promise<void>, timeoutMs: number) {
  // Unref'd: the child's handle keeps the process alive while it runs, the timer must not.
  const timer = sleep(timeoutMs, true, { ref: false });
  const timedOut = await Promise.race([exited.then(() => false), timer]);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Sends one command in RESP, then QUIT, and resolves with everything the server wrote before it
 * closed the connection: `$123\r\n# Server…\r\n+OK\r\n`, `-LOADING …`, or '' after SHUTDOWN.
 */
function command(port: number, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((done, fail) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('timed out')));
    socket.on('connect', () => {
      const resp = (parts: readonly string[]) =>
        `*${parts.length}\r\n${parts.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
      socket.write(resp(args) + resp(['QUIT']));
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', fail);
    socket.on('close', (hadError) => {
      if (!hadError) done(Buffer.concat(chunks).toString());
    });
  });
}

async function findBinary(binary: string | undefined): Promise<string> {
  const candidates = binary
    ? [binary]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, 'redis-server'));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new RedisServerError(
    'RDLAB_REDIS_SERVER_NOT_FOUND',
    binary
      ? `redis-server binary '${binary}' is missing or not executable`
      : 'redis-server is not on PATH: install it (Debian/Ubuntu: `apt-get install redis-server`, macOS: `brew install redis`) or pass { binary }',
  );
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}
