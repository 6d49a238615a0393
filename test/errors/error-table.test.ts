// The error table is the one list of codes: every class is in it, each is raised somewhere, each maps to a
// status reason a human can act on, and the status schema speaks the same reasons as the code.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/errors/index.js';
import { ERROR_CLASSES, FlotillaError, isErrorCode, type ErrorCode } from '../../src/errors/index.js';
import { REASON_BY_CODE, reasonForError } from '../../src/reconcile/error-reason.js';
import { Reason, REASONS } from '../../src/status/conditions.js';

const CODES = Object.keys(ERROR_CLASSES) as ErrorCode[];

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('ERROR_CLASSES', () => {
  it('holds every error class src/errors exports, each under its own code', () => {
    const exported = Object.entries(errors).filter(([, v]) => typeof v === 'function' && (v as { prototype: unknown }).prototype instanceof FlotillaError);
    expect(exported.map(([k]) => k).sort()).toEqual([...CODES].sort());
    for (const code of CODES) expect(new ERROR_CLASSES[code]('m').code).toBe(code);
  });

  it('isErrorCode knows the table and nothing else', () => {
    for (const code of CODES) expect(isErrorCode(code)).toBe(true);
    for (const other of ['GateClosedError', 'toString', 'constructor', '', 42]) expect(isErrorCode(other)).toBe(false);
  });

  // isomorphic-git's habit: an error class nobody raises is dead vocabulary.
  it('every class is raised somewhere in src/', async () => {
    const files = (await sourceFiles('src')).filter((f) => f !== join('src', 'errors', 'index.ts'));
    const text = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n');
    const unused = CODES.filter((code) => !new RegExp(`\\bnew ${code}\\(`).test(text));
    expect(unused).toEqual([]);
  });
});

describe('reasonForError: every code has a reason a human can act on', () => {
  for (const code of CODES) {
    const want = code === 'InternalError' ? 'InternalError' : 'a reason other than InternalError';
    it(`${code} → ${want}`, () => {
      const err = new ERROR_CLASSES[code]('boom', { k: 1 });
      const r = reasonForError(err);
      expect(r.reason).toBe(REASON_BY_CODE[code]);
      if (code === 'InternalError') expect(r.reason).toBe(Reason.InternalError);
      else expect(r.reason).not.toBe(Reason.InternalError);
      expect(r.stalled).toBe(err.retry === 'stall');
      expect(r.message).toBe(`${code}: boom`);
    });
  }

  const table: Array<[string, unknown, string, boolean]> = [
    ['a Node system error on a path (EACCES)', Object.assign(new Error('EACCES: permission denied, open \'/x\''), { code: 'EACCES', syscall: 'open', path: '/x' }), Reason.PathUnusable, true],
    ['a Node system error on a path (ENOENT)', Object.assign(new Error('ENOENT'), { code: 'ENOENT', syscall: 'scandir', path: '/nope' }), Reason.PathUnusable, true],
    ['a system error without a path', Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }), Reason.InternalError, false],
    ['a plain Error', new Error('bug'), Reason.InternalError, false],
    ['a thrown string', 'bug', Reason.InternalError, false],
  ];
  for (const [name, err, reason, stalled] of table) {
    it(`${name} → ${reason}`, () => expect(reasonForError(err)).toMatchObject({ reason, stalled }));
  }
});

describe('the status schema', () => {
  it('enumerates exactly the reasons of src/status/conditions.ts', async () => {
    const schema = JSON.parse(await readFile('schemas/status.schema.json', 'utf8')) as { $defs: Record<string, { properties?: Record<string, { enum?: string[] }> }> };
    const enums = Object.values(schema.$defs).flatMap((d) => Object.entries(d.properties ?? {})).filter(([k]) => k === 'reason').map(([, v]) => v.enum);
    expect(enums).toEqual([[...REASONS]]);
  });
});
