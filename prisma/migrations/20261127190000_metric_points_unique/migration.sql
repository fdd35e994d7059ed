-- A metric point is stored once: the metrics sink inserts with ON CONFLICT DO NOTHING on this
-- key, so a batch retried after a lost reply (its commit had gone through) or a step redone
-- after a resume does not add a second row. Duplicates stored before are removed first (the
-- oldest row of each stays). The unique index starts with the columns of the index it
-- replaces, so Grafana's queries by (experiment, cell, name, step) still use an index.
DELETE FROM "metric_points" a
 USING "metric_points" b
 WHERE a."experiment_id" = b."experiment_id"
   AND a."cell_id" = b."cell_id"
   AND a."name" = b."name"
   AND a."step" = b."step"
   AND a."epoch" = b."epoch"
   AND a."stage" = b."stage"
   AND a."id" > b."id";

-- DropIndex
DROP INDEX "metric_points_experiment_id_cell_id_name_step_idx";

-- CreateIndex
CREATE UNIQUE INDEX "metric_points_experiment_id_cell_id_name_step_epoch_stage_key" ON "metric_points"("experiment_id", "cell_id", "name", "step", "epoch", "stage");
