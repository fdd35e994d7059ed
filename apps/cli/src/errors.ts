/** Exit codes of the rdlab command. */
export const EXIT = {
  ok: 0,
  /** Something failed that is not the user's input: a bug, a crashed worker, a full disk. */
  failure: 1,
  /** The input is wrong: a spec with problems, a missing file, a bad flag. */
  usage: 2,
} as const;

/** An error the command reports as one message, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
