/**
 * @rdlab/db: Postgres through Prisma. The schema (`prisma/schema.prisma`), offline migrations,
 * small repositories (one job each) and the batched metrics sink.
 *
 * ```ts
 * import { createDb, migrate, PostgresMetricsSink, Repositories, startEmbeddedPostgres } from '@rdlab/db';
 *
 * const pg = await startEmbeddedPostgres({ dataDir: '.rdlab/postgres' });
 * await migrate(pg.url);
 * const db = createDb(pg.url);
 * const repos = new Repositories(db);
 * const team = await repos.teams.createTeam('lab');
 * const { token } = await repos.tokens.createToken('lab', 'ci');
 * const { experiment } = await repos.experiments.createExperiment({
 *   teamId: team.id, name: 'sweep', specSubmitted: {}, specResolved: {}, cells: [],
 * });
 * const sink = new PostgresMetricsSink(db, { experimentId: experiment.id });
 * await sink.record([{ cell: 'c0', stage: 'train', epoch: 0, step: 1, name: 'train/loss', value: 2.3 }]);
 * await sink.close();
 * console.log(await repos.tokens.authenticate(token));
 * await db.$disconnect();
 * await pg.stop();
 * ```
 */

export type { CellUpdate } from './cells.js';
export { CellRepository } from './cells.js';
export type { CreateDbOptions, Db, PrismaClientOrTransaction } from './client.js';
export { createDb, inTransaction } from './client.js';
export type { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded.js';
export { hydrateBinarySymlinks, startEmbeddedPostgres } from './embedded.js';
export type { DbErrorCode } from './errors.js';
export { DB_ERROR_CODES, DbError, isDatabaseUnavailable } from './errors.js';
export type {
  CreatedExperiment,
  ExperimentPage,
  NewCell,
  NewExperiment,
} from './experiments.js';
export {
  ExperimentRepository,
  newExperimentId,
  TERMINAL_EXPERIMENT_STATUSES,
} from './experiments.js';
// Row types of the generated client.
export type {
  ApiToken,
  Cell,
  EvalResult,
  Experiment,
  GeneratedExample,
  MetricPoint,
  StageJob,
  Team,
  User,
  Worker,
} from './generated/prisma/client.js';
// The generated client's enums (values and types) and the Prisma namespace (errors, JSON types).
export {
  CellStatus,
  ExperimentStatus,
  Prisma,
  StageJobState,
  StageKind,
} from './generated/prisma/client.js';
export type {
  MetricPointInput,
  MetricPointRow,
  MetricPointWriter,
  PostgresMetricsSinkOptions,
} from './metrics-sink.js';
export { PostgresMetricsSink } from './metrics-sink.js';
export type { MigrateOptions, MigrateResult } from './migrate.js';
export { DEFAULT_MIGRATIONS_DIR, migrate } from './migrate.js';
export { Repositories } from './repositories.js';
export type { EvalResultInput, ExampleInput } from './results.js';
export { ResultRepository } from './results.js';
export {
  type CurrentStageKind,
  type StageJobCounts,
  type StageJobInput,
  StageJobRepository,
  type StageJobTransition,
  stageKindOf,
} from './stage-jobs.js';
export { TeamRepository } from './teams.js';
export type { ApiTokenInfo, CreatedToken, Principal } from './tokens.js';
export { hashToken, TokenRepository } from './tokens.js';
export type { WorkerHeartbeat } from './workers.js';
export { WorkerRepository } from './workers.js';

// Internal, not exported: errors.ts' isUniqueViolation and isRecordNotFound, teams.ts'
// conflictOr, and everything else under generated/.
