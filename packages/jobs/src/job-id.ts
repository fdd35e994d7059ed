/**
 * Deterministic BullMQ job ids. BullMQ adds a job whose id already exists in the queue as a
 * no-op (a `duplicated` event), so two experiments submitting the same shard at once make ONE
 * job. The id must therefore depend only on what the work depends on: the shard's content hash,
 * the cell id (itself a content hash), never the experiment.
 *
 * BullMQ 6.7 (`Job.validateOptions`) rejects custom ids that contain ':' (its key separator)
 * and ids that are integers. Ids are `<job name>~<part>~<part>…`: the name first, so never an
 * integer, and parts drawn from artifact-key characters [A-Za-z0-9._=/-], so the separator '~'
 * cannot occur inside a part and different parts never give the same id.
 */
import { isJobName, JOB_NAMES, type JobName } from './catalog.js';
import { JobIdError, UnknownJobError } from './errors.js';

export const JOB_ID_SEPARATOR = '~';

const PART = /^[A-Za-z0-9._=/-]+$/;
const MAX_LENGTH = 512;

/**
 * `jobId('bootstrap', 'shards/3f9a….arrow')` → `'bootstrap~shards/3f9a….arrow'`;
 * `jobId('train', cellId)` → `'train~c0123…'`. Parts are non-empty strings of [A-Za-z0-9._=/-]
 * or non-negative integers; anything else throws `RDLAB_JOB_ID_INVALID`.
 */
export function jobId(name: JobName, ...parts: readonly (string | number)[]): string {
  if (!isJobName(name)) throw new UnknownJobError(name, JOB_NAMES);
  if (parts.length === 0) {
    throw new JobIdError(
      `jobId('${name}') needs at least one part: the id must say which ${name} it is`,
    );
  }
  const text = parts.map((part, i) => {
    if (typeof part === 'number') {
      if (!Number.isSafeInteger(part) || part < 0) {
        throw new JobIdError(
          `jobId('${name}') part ${i} is ${part}: numbers must be non-negative integers`,
        );
      }
      return String(part);
    }
    if (!PART.test(part)) {
      throw new JobIdError(
        `jobId('${name}') part ${i} '${part}' is not allowed: use [A-Za-z0-9._=/-] only (no ':', which BullMQ forbids, nor '${JOB_ID_SEPARATOR}', the separator)`,
      );
    }
    return part;
  });
  const id = [name, ...text].join(JOB_ID_SEPARATOR);
  if (id.length > MAX_LENGTH) {
    throw new JobIdError(
      `jobId('${name}') is ${id.length} characters, over ${MAX_LENGTH}: pass a hash instead`,
    );
  }
  return id;
}
