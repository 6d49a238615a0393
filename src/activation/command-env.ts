import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ActivationError } from '../errors/index.js';
import type { CommandLine, FlotillaEnv } from './spec.js';

/** Variables passed through from the agent's own environment when no base environment is given. */
const PASSED_THROUGH = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR'];

/** Which hook a command runs as; exported to the command as FLOTILLA_PHASE. */
export type Phase = 'drain' | 'activate' | 'undrain' | 'health';

/**
 * The default base environment: a few harmless variables of ours (PATH, HOME, locale, TZ, user, TMPDIR).
 * The agent's other variables (store credentials, tokens) are deliberately not inherited.
 */
export function defaultBaseEnv(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED_THROUGH) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  env['PATH'] ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return env;
}

/**
 * Builds a command's environment: base, then the declared `env`, then FLOTILLA_* and FLOTILLA_PHASE
 * (ours win, so a declaration cannot fake which generation is being activated).
 */
export function buildCommandEnv(
  base: Record<string, string>,
  declared: Record<string, string> | undefined,
  flotilla: FlotillaEnv,
  phase: Phase,
): Record<string, string> {
  const env: Record<string, string> = { ...base, ...declared };
  for (const key of Object.keys(env)) if (key.startsWith('FLOTILLA_')) delete env[key];
  env['FLOTILLA_SET'] = flotilla.FLOTILLA_SET;
  env['FLOTILLA_DIGEST'] = flotilla.FLOTILLA_DIGEST;
  env['FLOTILLA_GENERATION'] = flotilla.FLOTILLA_GENERATION;
  if (flotilla.FLOTILLA_PREVIOUS !== undefined) env['FLOTILLA_PREVIOUS'] = flotilla.FLOTILLA_PREVIOUS;
  env['FLOTILLA_PHASE'] = phase;
  return env;
}

/**
 * Resolves a declared command against the generation directory. A shell string is returned unchanged
 * (it runs with the generation as cwd). For an argv, argv[0] containing `/` and not absolute becomes
 * `<generation>/<argv[0]>`; it must stay inside the generation (lexically: the generation's package links
 * may point into the store). Throws ActivationError (data.field, data.command) for an empty argv or an
 * argv[0] that escapes the generation.
 */
export function resolveCommand(line: CommandLine, generationPath: string, field: string): readonly string[] | string {
  if (typeof line === 'string') {
    if (line.trim() === '') throw new ActivationError(`${field}: empty command`, { field });
    return line;
  }
  const [program, ...args] = line;
  if (program === undefined || program === '') {
    throw new ActivationError(`${field}: empty command`, { field });
  }
  if (isAbsolute(program) || !program.includes('/')) return [program, ...args];
  const root = resolve(generationPath);
  const full = resolve(root, program);
  const rel = relative(root, full);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new ActivationError(`${field}: command ${JSON.stringify(program)} leaves the generation directory`, {
      field,
      command: program,
    });
  }
  return [full, ...args];
}
