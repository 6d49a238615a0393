import { createRequire } from 'node:module';
import type { Logger } from 'pino';

// pino (and its dependencies) take ~25 ms to load: required on the first logger made, not at import, so
// CLI verbs that never log (`--help`, `fetch`) do not pay for it.
const require = createRequire(import.meta.url);

/**
 * Builds the process logger: JSON lines on stderr; readable lines when stderr is a terminal.
 * Level from FLOTILLA_LOG_LEVEL (default "info"; "silent" turns logging off).
 */
export function createLogger(options: { level?: string; pretty?: boolean; name?: string } = {}): Logger {
  const { pino } = require('pino') as typeof import('pino');
  const level = options.level ?? process.env['FLOTILLA_LOG_LEVEL'] ?? 'info';
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  if (pretty) {
    return pino({
      level,
      ...(options.name !== undefined ? { name: options.name } : {}),
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l' } },
    });
  }
  return pino({ level, ...(options.name !== undefined ? { name: options.name } : {}) }, pino.destination({ fd: 2, sync: true }));
}
