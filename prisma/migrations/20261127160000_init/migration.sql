-- CreateEnum
CREATE TYPE "experiment_status" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'partial');

-- CreateEnum
CREATE TYPE "cell_status" AS ENUM ('pending', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "stage_kind" AS ENUM ('prepare', 'bootstrap', 'train', 'evaluate', 'report');

-- CreateEnum
CREATE TYPE "stage_job_state" AS ENUM ('waiting', 'active', 'completed', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "teams" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "teams_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "user_id" TEXT,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "experiments" (
    "id" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "owner_token_id" TEXT,
    "name" TEXT NOT NULL,
    "spec_submitted" JSONB NOT NULL,
    "spec_resolved" JSONB NOT NULL,
    "status" "experiment_status" NOT NULL DEFAULT 'queued',
    "idempotency_key" TEXT,
    "cell_count" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),
    "error" TEXT,

    CONSTRAINT "experiments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cells" (
    "experiment_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "dataset" TEXT NOT NULL,
    "attribute" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "dropout" TEXT NOT NULL,
    "dropout_config" JSONB NOT NULL,
    "seed" INTEGER NOT NULL,
    "status" "cell_status" NOT NULL DEFAULT 'pending',
    "epochs_done" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "cells_pkey" PRIMARY KEY ("experiment_id","id")
);

-- CreateTable
CREATE TABLE "stage_jobs" (
    "id" TEXT NOT NULL,
    "experiment_id" TEXT NOT NULL,
    "cell_id" TEXT,
    "kind" "stage_kind" NOT NULL,
    "key" TEXT NOT NULL,
    "state" "stage_job_state" NOT NULL DEFAULT 'waiting',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "worker" TEXT,
    "backend" TEXT,
    "queued_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),
    "error" TEXT,

    CONSTRAINT "stage_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "metric_points" (
    "id" BIGSERIAL NOT NULL,
    "experiment_id" TEXT NOT NULL,
    "cell_id" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "step" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "metric_points_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "eval_results" (
    "experiment_id" TEXT NOT NULL,
    "cell_id" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "metrics" JSONB NOT NULL,
    "acc" DOUBLE PRECISION,
    "reward" DOUBLE PRECISION,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "eval_results_pkey" PRIMARY KEY ("experiment_id","cell_id","epoch")
);

-- CreateTable
CREATE TABLE "generated_examples" (
    "id" TEXT NOT NULL,
    "experiment_id" TEXT NOT NULL,
    "cell_id" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "prefix" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "reward" DOUBLE PRECISION,
    "acc" DOUBLE PRECISION,

    CONSTRAINT "generated_examples_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workers" (
    "id" TEXT NOT NULL,
    "backend" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "current_job" TEXT,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workers_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "teams_name_key" ON "teams"("name");

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE INDEX "users_team_id_idx" ON "users"("team_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "api_tokens_team_id_idx" ON "api_tokens"("team_id");

-- CreateIndex
CREATE INDEX "experiments_team_id_created_at_idx" ON "experiments"("team_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "experiments_team_id_idempotency_key_key" ON "experiments"("team_id", "idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "stage_jobs_experiment_id_key_key" ON "stage_jobs"("experiment_id", "key");

-- CreateIndex
CREATE INDEX "metric_points_experiment_id_cell_id_name_step_idx" ON "metric_points"("experiment_id", "cell_id", "name", "step");

-- CreateIndex
CREATE INDEX "metric_points_name_time_idx" ON "metric_points"("name", "time");

-- CreateIndex
CREATE INDEX "generated_examples_experiment_id_cell_id_epoch_idx" ON "generated_examples"("experiment_id", "cell_id", "epoch");

-- AddForeignKey
ALTER TABLE "users" ADD CONSTRAINT "users_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "experiments" ADD CONSTRAINT "experiments_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "experiments" ADD CONSTRAINT "experiments_owner_token_id_fkey" FOREIGN KEY ("owner_token_id") REFERENCES "api_tokens"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cells" ADD CONSTRAINT "cells_experiment_id_fkey" FOREIGN KEY ("experiment_id") REFERENCES "experiments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stage_jobs" ADD CONSTRAINT "stage_jobs_experiment_id_fkey" FOREIGN KEY ("experiment_id") REFERENCES "experiments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "metric_points" ADD CONSTRAINT "metric_points_experiment_id_fkey" FOREIGN KEY ("experiment_id") REFERENCES "experiments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "eval_results" ADD CONSTRAINT "eval_results_experiment_id_cell_id_fkey" FOREIGN KEY ("experiment_id", "cell_id") REFERENCES "cells"("experiment_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "generated_examples" ADD CONSTRAINT "generated_examples_experiment_id_cell_id_fkey" FOREIGN KEY ("experiment_id", "cell_id") REFERENCES "cells"("experiment_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;
