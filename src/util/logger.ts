import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { DestinationStream, Logger } from 'pino';
import { isJournalStream, priorityOfPinoLevel, withPriority } from './journal-stream.js';

// pino (and its dependencies) take ~25 ms to load: required on the first logger made, not at import, so
// CLI verbs that never log (`--help`, `fetch`) do not pay for it.
const require = createRequire(import.meta.url);

/**
 * stderr for pino with each line prefixed by its syslog priority, so journald files an error as an error
 * (`journalctl -p err`). pino sets `lastLevel` before each write on a stream that asks for it (the metadata
 * symbol, as pino.multistream does).
 */
function journalDestination(metadata: symbol): DestinationStream {
  const stream = {
    [metadata]: true,
    lastLevel: 30,
    write(line: string): void {
      writeSync(2, withPriority(line, priorityOfPinoLevel(stream.lastLevel)));
    },
  };
  return stream;
}

/**
 * Builds the process logger: JSON lines on stderr; readable lines when stderr is a terminal; under systemd
 * (stderr is the journal stream), each line starts with `<N>`, its syslog priority.
 * Level from FLOTILLA_LOG_LEVEL (default "info"; "silent" turns logging off).
 */
export function createLogger(options: { level?: string; pretty?: boolean; name?: string; env?: NodeJS.ProcessEnv } = {}): Logger {
  const { pino } = require('pino') as typeof import('pino');
  const env = options.env ?? process.env;
  const level = options.level ?? env['FLOTILLA_LOG_LEVEL'] ?? 'info';
  const named = options.name !== undefined ? { name: options.name } : {};
  if (isJournalStream(env)) return pino({ level, ...named }, journalDestination(pino.symbols.needsMetadataGsym));
  if (options.pretty ?? process.stderr.isTTY === true) {
    return pino({
      level,
      ...named,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l' } },
    });
  }
  return pino({ level, ...named }, pino.destination({ fd: 2, sync: true }));
}
