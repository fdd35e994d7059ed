-- A cell's settings, resolved once at submission (everything its content id covers), so a
-- running experiment never meets a newer schema's defaults. Null on older rows: those cells
-- are still found by expanding their experiment's spec.
ALTER TABLE "cells" ADD COLUMN "settings" JSONB;

-- The job that publishes a cell's evaluations is called `publish` now; rows of the old
-- `evaluate` name stay as they are (the value is kept) and read as `publish`. Before `report`,
-- so that ordering by kind still follows the pipeline.
ALTER TYPE "stage_kind" ADD VALUE 'publish' BEFORE 'report';
