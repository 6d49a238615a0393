import { isIP } from 'node:net';
import { UsageError } from '../errors/index.js';

/**
 * Parses `--listen`: HOST:PORT, [IPv6]:PORT, or a bare PORT (on 127.0.0.1). Absent: `fallback`.
 * UsageError naming the option for anything else (no port, a port past 65535, a host with a scheme).
 */
export function listenOption(value: string | undefined, fallback: { host: string; port: number }): { host: string; port: number } {
  if (value === undefined) return fallback;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  const host = m ? m[1] || m[2] || '127.0.0.1' : '';
  if (!m || port > 65535 || (m[1] !== undefined && m[1] !== '' && isIP(host) !== 6)) {
    throw new UsageError(`--listen ${JSON.stringify(value)}: expected HOST:PORT, [IPv6]:PORT or PORT, e.g. 127.0.0.1:8080`);
  }
  return { host, port };
}
