// What a caught value says, for a log line: `catch` hands over `unknown`, not always an Error.
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
