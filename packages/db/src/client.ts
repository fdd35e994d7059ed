/**
 * The Prisma client, connected through `@prisma/adapter-pg` (Prisma 7's Rust-free client: no
 * engine binary, so it runs offline), and the transaction seam every repository accepts.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { type Prisma, PrismaClient } from './generated/prisma/client.js';

/** The client `createDb` returns. */
export type Db = PrismaClient;

/**
 * A client or the `tx` of an interactive transaction. Every repository function takes one as
 * its last, optional argument, so callers can compose several calls into one transaction.
 */
export type PrismaClientOrTransaction = PrismaClient | Prisma.TransactionClient;

export interface CreateDbOptions {
  /**
   * Most connections the pool opens.
   * @defaultValue 10
   */
  maxConnections?: number;
  /** Called with errors of idle pooled connections (a restarted server, say). */
  onPoolError?: (error: Error) => void;
}

/** A PrismaClient for `databaseUrl` (`postgresql://user:password@host:port/database`). */
export function createDb(databaseUrl: string, options: CreateDbOptions = {}): Db {
  const adapter = new PrismaPg(
    { connectionString: databaseUrl, max: options.maxConnections ?? 10 },
    options.onPoolError ? { onPoolError: options.onPoolError } : undefined,
  );
  return new PrismaClient({ adapter });
}

/**
 * Runs `fn` in a transaction: a new one on a client; on a caller's transaction, a nested one,
 * which Prisma 7 makes a SAVEPOINT (its failure rolls back `fn`'s writes only, and the caller's
 * transaction stays usable). The `TransactionClient` type hides `$transaction`; it is there.
 */
export function inTransaction<T>(
  client: PrismaClientOrTransaction,
  fn: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  return '$transaction' in client ? client.$transaction(fn) : fn(client);
}
