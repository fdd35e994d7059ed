/** Teams and their users: the tenants every experiment and token belongs to. */
import type { PrismaClientOrTransaction } from './client.js';
import { DbError, isUniqueViolation } from './errors.js';
import type { Team, User } from './generated/prisma/client.js';

export class TeamRepository {
  constructor(private readonly db: PrismaClientOrTransaction) {}

  /** Creates a team; throws `RDLAB_DB_CONFLICT` when the name is taken. */
  async createTeam(name: string, tx?: PrismaClientOrTransaction): Promise<Team> {
    try {
      return await (tx ?? this.db).team.create({ data: { name } });
    } catch (error) {
      throw conflictOr(error, `team '${name}' exists`);
    }
  }

  /** The team called `name`, or null. */
  findTeamByName(name: string, tx?: PrismaClientOrTransaction): Promise<Team | null> {
    return (tx ?? this.db).team.findUnique({ where: { name } });
  }

  /** Adds a user to a team; throws `RDLAB_DB_CONFLICT` when the email is taken. */
  async createUser(teamId: string, email: string, tx?: PrismaClientOrTransaction): Promise<User> {
    try {
      return await (tx ?? this.db).user.create({ data: { teamId, email } });
    } catch (error) {
      throw conflictOr(error, `user '${email}' exists`);
    }
  }
}

/** Maps Prisma's unique violation to `RDLAB_DB_CONFLICT`; other errors pass through. */
export function conflictOr(error: unknown, message: string): unknown {
  return isUniqueViolation(error)
    ? new DbError('RDLAB_DB_CONFLICT', message, { cause: error })
    : error;
}
