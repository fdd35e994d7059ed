/**
 * API tokens: `rdl_` + base64url(32 random bytes). Only the sha256 (hex) of the secret is
 * stored, so a database leak does not leak working tokens; `prefix` (its first 8 characters)
 * is kept for display.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClientOrTransaction } from './client.js';
import { DbError } from './errors.js';
import type { ApiToken } from './generated/prisma/client.js';

const TOKEN_PREFIX = 'rdl_';
/** `rdl_` + 43 base64url characters (32 bytes, unpadded). */
const TOKEN_PATTERN = /^rdl_[A-Za-z0-9_-]{43}$/;
/** `lastUsedAt` is written at most this often per token, so auth is not one write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** A token as listed: everything but the hash. */
export type ApiTokenInfo = Omit<ApiToken, 'tokenHash'>;

export interface CreatedToken {
  /** The secret, shown once: only its hash is stored. */
  token: string;
  record: ApiTokenInfo;
}

export interface Principal {
  teamId: string;
  tokenId: string;
}

/** sha256 (hex) of a token secret: what `api_tokens.token_hash` holds. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export class TokenRepository {
  constructor(private readonly db: PrismaClientOrTransaction) {}

  /**
   * Issues a token for the team called `teamName` (`RDLAB_DB_NOT_FOUND` when there is none).
   * The returned `token` is the only copy of the secret.
   */
  async createToken(
    teamName: string,
    name: string,
    options: { userId?: string } = {},
    tx?: PrismaClientOrTransaction,
  ): Promise<CreatedToken> {
    const db = tx ?? this.db;
    const team = await db.team.findUnique({ where: { name: teamName } });
    if (!team) throw new DbError('RDLAB_DB_NOT_FOUND', `no team '${teamName}'`);
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const record = await db.apiToken.create({
      data: {
        teamId: team.id,
        userId: options.userId ?? null,
        name,
        tokenHash: hashToken(token),
        prefix: token.slice(0, 8),
      },
      omit: { tokenHash: true },
    });
    return { token, record };
  }

  /**
   * The team and token a secret stands for, or null when it is malformed, unknown or revoked.
   * Updates `lastUsedAt` (at most once a minute per token).
   */
  async authenticate(secret: string, tx?: PrismaClientOrTransaction): Promise<Principal | null> {
    if (!TOKEN_PATTERN.test(secret)) return null;
    const db = tx ?? this.db;
    const token = await db.apiToken.findUnique({
      where: { tokenHash: hashToken(secret) },
      select: { id: true, teamId: true, revokedAt: true },
    });
    if (!token || token.revokedAt) return null;
    const now = new Date();
    await db.apiToken.updateMany({
      where: {
        id: token.id,
        OR: [
          { lastUsedAt: null },
          { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_RESOLUTION_MS) } },
        ],
      },
      data: { lastUsedAt: now },
    });
    return { teamId: token.teamId, tokenId: token.id };
  }

  /**
   * Revokes a token (of `teamId`, when given). Returns false when there is no such token or it
   * was already revoked.
   */
  async revokeToken(
    tokenId: string,
    teamId?: string,
    tx?: PrismaClientOrTransaction,
  ): Promise<boolean> {
    const { count } = await (tx ?? this.db).apiToken.updateMany({
      where: { id: tokenId, revokedAt: null, ...(teamId ? { teamId } : {}) },
      data: { revokedAt: new Date() },
    });
    return count === 1;
  }

  /** A team's tokens, newest first, without their hashes. */
  listTokens(teamId: string, tx?: PrismaClientOrTransaction): Promise<ApiTokenInfo[]> {
    return (tx ?? this.db).apiToken.findMany({
      where: { teamId },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      omit: { tokenHash: true },
    });
  }
}
