/**
 * Cancellation crosses processes on a Redis channel: the API publishes an experiment's id when
 * it is cancelled, and every worker checks whether the job it runs is still needed by a live
 * experiment (shared shards and cells may be), aborting it through BullMQ's AbortSignal if not.
 */
export const CANCEL_CHANNEL = 'rdlab:cancel';
