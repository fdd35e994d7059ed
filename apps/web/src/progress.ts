/** Progress in words: cells done, the stage at work, each stage's jobs. Pure. */
import { type Progress, STAGE_KINDS, type StageCounts, type StageKind } from './types.js';

/** Cells that will not change any more. */
export function cellsDone(progress: Progress): number {
  const c = progress.cells;
  return c.succeeded + c.failed + c.cancelled;
}

export function stageTotal(s: StageCounts): number {
  return s.waiting + s.active + s.completed + s.failed + s.cancelled;
}

/** The furthest stage with jobs waiting or running; null when none is. */
export function currentStage(progress: Progress): StageKind | null {
  for (const kind of [...STAGE_KINDS].reverse()) {
    const s = progress.stages[kind];
    if (s && s.active + s.waiting > 0) return kind;
  }
  return null;
}

/** `prepare 1/1 · bootstrap 3/4 · train 0/2`: completed of known jobs, stages with jobs only. */
export function stagesLine(progress: Progress): string {
  return STAGE_KINDS.flatMap((kind) => {
    const s = progress.stages[kind];
    if (!s || stageTotal(s) === 0) return [];
    const extra = s.failed ? `, ${s.failed} failed` : '';
    return [`${kind} ${s.completed}/${stageTotal(s)}${extra}`];
  }).join(' · ');
}
