// The documented exit codes (README "Exit codes"); the contract's section 8.
export const ExitCode = {
  Ok: 0,
  FetchFailed: 1,
  Usage: 2,
  WorkLeft: 3,
  Database: 4,
  StalePlan: 5,
  // 128 + the signal's number, as shells report a process stopped by it.
  Interrupted: 130,
  Terminated: 143,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/** A failure the operator can act on: one line of text and the exit code it maps to. */
export class BackfillError extends Error {
  constructor(message: string, readonly exitCode: ExitCodeValue) {
    super(message)
    this.name = 'BackfillError'
  }
}

export const usageError = (message: string) => new BackfillError(message, ExitCode.Usage)
export const databaseError = (message: string) => new BackfillError(message, ExitCode.Database)
export const preconditionError = (message: string) => new BackfillError(message, ExitCode.Database)
