import { pino, type Logger } from 'pino';

/**
 * Builds the process logger: JSON lines on stderr; readable lines when stderr is a terminal.
 * Level from FLOTILLA_LOG_LEVEL (default "info"; "silent" turns logging off).
 */
export function createLogger(options: { level?: string; pretty?: boolean; name?: string } = {}): Logger {
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
