/** Every repository over one client: `new Repositories(db).experiments.createExperiment(…)`. */
import { CellRepository } from './cells.js';
import type { PrismaClientOrTransaction } from './client.js';
import { ExperimentRepository } from './experiments.js';
import { ResultRepository } from './results.js';
import { StageJobRepository } from './stage-jobs.js';
import { TeamRepository } from './teams.js';
import { TokenRepository } from './tokens.js';
import { WorkerRepository } from './workers.js';

export class Repositories {
  readonly teams: TeamRepository;
  readonly tokens: TokenRepository;
  readonly experiments: ExperimentRepository;
  readonly cells: CellRepository;
  readonly stageJobs: StageJobRepository;
  readonly results: ResultRepository;
  readonly workers: WorkerRepository;

  constructor(db: PrismaClientOrTransaction) {
    this.teams = new TeamRepository(db);
    this.tokens = new TokenRepository(db);
    this.experiments = new ExperimentRepository(db);
    this.cells = new CellRepository(db);
    this.stageJobs = new StageJobRepository(db);
    this.results = new ResultRepository(db);
    this.workers = new WorkerRepository(db);
  }
}
