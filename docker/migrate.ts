/**
 * The migration one-shot (compose service `migrate`, the chart's pre-install/pre-upgrade Job):
 *
 *   DATABASE_URL=postgresql://… node --conditions=source --import tsx docker/migrate.ts
 *
 * 1. Waits for Postgres (up to RDLAB_MIGRATE_WAIT_S seconds, default 120) while it refuses
 *    connections or is still starting, then applies prisma/migrations with `migrate()` of
 *    @rdlab/db: offline, idempotent, under Prisma's advisory lock (packages/db/README.md).
 * 2. With RDLAB_BOOTSTRAP_TOKEN set (an `rdl_…` secret you generated), registers its sha256 for
 *    the team RDLAB_BOOTSTRAP_TEAM (default `ops`, created when new) under the name
 *    `autoscaler`, unless it is registered already. KEDA's metrics-api trigger then reads
 *    `GET /v1/queue` with that token from the first install on, without anyone running
 *    `rdlab token create` and copying the result into a Secret.
 *
 * Exit 0 when done, 1 on failure (the message says what to do), 2 on bad configuration.
 */
import { createDb, hashToken, migrate, Repositories } from '@rdlab/db';

/** The container's environment (compose, the chart). */
const env = process.env;

const TOKEN_PATTERN = /^rdl_[A-Za-z0-9_-]{43}$/;
const TRANSIENT = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|starting up|57P03/;

function fail(code: number, message: string): never {
  console.error(`rdlab-migrate: ${message}`);
  process.exit(code);
}

const url = env.DATABASE_URL;
if (!url)
  fail(2, 'DATABASE_URL is not set (the chart: postgres.url or existingSecret; compose: .env)');
const waitS = Number(env.RDLAB_MIGRATE_WAIT_S ?? 120);
if (!Number.isFinite(waitS) || waitS < 0)
  fail(2, `RDLAB_MIGRATE_WAIT_S must be seconds ≥ 0, got '${env.RDLAB_MIGRATE_WAIT_S}'`);
const token = env.RDLAB_BOOTSTRAP_TOKEN ?? '';
const team = env.RDLAB_BOOTSTRAP_TEAM || 'ops';
if (token !== '' && !TOKEN_PATTERN.test(token))
  fail(
    2,
    "RDLAB_BOOTSTRAP_TOKEN must be 'rdl_' + 43 base64url characters; make one with " +
      `node -e "console.log('rdl_' + require('crypto').randomBytes(32).toString('base64url'))"`,
  );

const deadline = Date.now() + waitS * 1000;
for (let attempt = 1; ; attempt++) {
  try {
    const { applied, skipped } = await migrate(url, {
      log: (line) => console.log(`rdlab-migrate: ${line}`),
    });
    console.log(
      `rdlab-migrate: ${applied.length} migration(s) applied, ${skipped.length} already applied`,
    );
    break;
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    const code = (error as { code?: string }).code ?? '';
    if (!TRANSIENT.test(`${code} ${message}`) || Date.now() > deadline)
      fail(1, `migration failed: ${message}`);
    if (attempt === 1 || attempt % 10 === 0)
      console.log(`rdlab-migrate: waiting for Postgres (${message.split('\n')[0]})`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

if (token !== '') {
  const db = createDb(url);
  try {
    const existing = await db.apiToken.findUnique({ where: { tokenHash: hashToken(token) } });
    if (existing?.revokedAt) fail(1, 'RDLAB_BOOTSTRAP_TOKEN was revoked: generate a new one');
    if (existing) {
      console.log(`rdlab-migrate: the autoscaler token ${token.slice(0, 8)}… is registered`);
    } else {
      const repos = new Repositories(db);
      const found = await repos.teams.findTeamByName(team);
      const teamId = found?.id ?? (await repos.teams.createTeam(team)).id;
      await db.apiToken.create({
        data: {
          teamId,
          name: 'autoscaler',
          tokenHash: hashToken(token),
          prefix: token.slice(0, 8),
        },
      });
      console.log(`rdlab-migrate: registered the autoscaler token ${token.slice(0, 8)}… (${team})`);
    }
  } finally {
    await db.$disconnect();
  }
}
process.exit(0);
