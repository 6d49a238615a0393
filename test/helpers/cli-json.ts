import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import type { Envelope, EnvelopeError } from '../../src/cli/json-envelope.js';

const validate = new Ajv2020.default({ strict: true, allErrors: true }).compile<Envelope>(
  JSON.parse(readFileSync(resolve(import.meta.dirname, '../../schemas/cli-envelope.schema.json'), 'utf8')) as object,
);

/** Throws unless `value` is an envelope as schemas/cli-envelope.schema.json says. */
export function assertEnvelope(value: unknown): Envelope {
  if (!validate(value)) throw new Error(`not a CLI --json envelope: ${JSON.stringify(validate.errors)}\n${JSON.stringify(value)}`);
  return value;
}

/** Every envelope `flotilla … --json` printed (one per line), each checked against the schema. */
export function envelopesOf(stdout: string): Envelope[] {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error('no --json output on stdout');
  return lines.map((l) => assertEnvelope(JSON.parse(l)));
}

/** The envelope of a verb's result: the last line of its stdout, checked against the schema. */
export function envelopeOf(stdout: string): Envelope {
  const all = envelopesOf(stdout);
  return all[all.length - 1] as Envelope;
}

/** The verb's own document (`data` of its result's envelope), typed as the caller expects it. */
export function dataOf<T = unknown>(stdout: string): T {
  return envelopeOf(stdout).data as T;
}

/** The error of a failed verb's envelope; throws when the envelope is ok. */
export function errorOf(stdout: string): EnvelopeError {
  const e = envelopeOf(stdout);
  if (e.ok || e.error === undefined) throw new Error(`expected a failed envelope, got ${JSON.stringify(e)}`);
  return e.error;
}
