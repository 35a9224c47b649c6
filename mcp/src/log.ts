// Logs go to stderr as JSON lines: on stdio, stdout carries nothing but the MCP protocol.
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function write(level: string, message: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`,
  );
}

export const stderrLogger: Logger = {
  info: (message, fields) => {
    write('info', message, fields);
  },
  warn: (message, fields) => {
    write('warn', message, fields);
  },
  error: (message, fields) => {
    write('error', message, fields);
  },
};
