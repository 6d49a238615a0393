import { describe, expect, it } from 'vitest';
import { GitError } from '../../src/errors/index.js';
import { parseRefAdvertisement, splitPktLines } from '../../src/git/pkt-line-refs.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);
const pkt = (s: string): string => `${(Buffer.byteLength(s) + 4).toString(16).padStart(4, '0')}${s}`;
const adv = (...lines: string[]): Buffer => Buffer.from(`${pkt('# service=git-upload-pack\n')}0000${lines.map(pkt).join('')}0000`);

describe('parseRefAdvertisement', () => {
  it('reads refs after the service header, with capabilities on the first line and peeled tags skipped', () => {
    const refs = parseRefAdvertisement(adv(`${A} HEAD\0multi_ack symref=HEAD:refs/heads/main agent=git/2.39\n`, `${A} refs/heads/main\n`, `${B} refs/tags/v1\n`, `${A} refs/tags/v1^{}\n`));
    expect([...refs]).toEqual([['HEAD', A], ['refs/heads/main', A], ['refs/tags/v1', B]]);
  });

  it('accepts a "version 1" line and lines without a trailing LF', () => {
    expect(parseRefAdvertisement(adv('version 1\n', `${B} refs/heads/main\0caps`)).get('refs/heads/main')).toBe(B);
  });

  it('gives an empty map for an empty repository (capabilities^{} or no lines at all)', () => {
    expect(parseRefAdvertisement(adv(`${Z} capabilities^{}\0agent=git/2.39\n`)).size).toBe(0);
    expect(parseRefAdvertisement(adv()).size).toBe(0);
  });

  it('reads what git-http-backend really sends', () => {
    // Captured shape of git 2.39's answer for a one-branch repo (oid shortened to our constant).
    const real = Buffer.from(`001e# service=git-upload-pack\n0000${pkt(`${A} HEAD\0multi_ack thin-pack side-band side-band-64k ofs-delta shallow deepen-since deepen-not deepen-relative no-progress include-tag multi_ack_detailed no-done symref=HEAD:refs/heads/main object-format=sha1 agent=git/2.39.5\n`)}${pkt(`${A} refs/heads/main\n`)}0000`);
    expect(parseRefAdvertisement(real).get('refs/heads/main')).toBe(A);
  });

  const bad: Array<[string, Buffer | string]> = [
    ['empty body', ''],
    ['a dumb server\'s text', `${A}\trefs/heads/main\n`],
    ['no service header', `${pkt(`${A} refs/heads/main\0caps\n`)}0000`],
    ['another service', `${pkt('# service=git-receive-pack\n')}0000${pkt(`${A} refs/heads/main\0caps\n`)}0000`],
    ['no flush after the header', `${pkt('# service=git-upload-pack\n')}${pkt(`${A} refs/heads/main\0caps\n`)}0000`],
    ['no closing flush', `${pkt('# service=git-upload-pack\n')}0000${pkt(`${A} refs/heads/main\0caps\n`)}`],
    ['bytes after the closing flush', Buffer.concat([adv(`${A} refs/heads/main\0caps\n`), Buffer.from('0000')])],
    ['a protocol v2 answer', adv('version 2\n', 'agent=git/2.39\n', 'ls-refs=unborn\n')],
    ['a v2 delim packet', `${pkt('# service=git-upload-pack\n')}00000001${pkt(`${A} refs/heads/main\0caps\n`)}0000`],
    ['a length past the end', `${pkt('# service=git-upload-pack\n')}0000ffff${A}`],
    ['a truncated length', `${pkt('# service=git-upload-pack\n')}0000${pkt(`${A} refs/heads/main\0caps\n`)}00`],
    ['no capabilities on the first line', adv(`${A} refs/heads/main\n`)],
    ['a NUL on a later line', adv(`${A} HEAD\0caps\n`, `${A} refs/heads/main\0caps\n`)],
    ['a short object id', adv(`${A.slice(1)} refs/heads/main\0caps\n`)],
    ['an uppercase object id', adv(`${A.toUpperCase()} refs/heads/main\0caps\n`)],
    ['a sha256 object id', adv(`${'c'.repeat(64)} refs/heads/main\0caps\n`)],
    ['a missing ref name', adv(`${A}\0caps\n`)],
    ['a ref name with a space', adv(`${A} refs/heads/a b\0caps\n`)],
    ['a ref advertised twice', adv(`${A} refs/heads/main\0caps\n`, `${B} refs/heads/main\n`)],
    ['capabilities^{} beside refs', adv(`${Z} capabilities^{}\0caps\n`, `${A} refs/heads/main\n`)],
    ['a flush inside the list', Buffer.concat([adv(`${A} HEAD\0caps\n`).subarray(0, -4), Buffer.from(`0000${pkt(`${A} refs/heads/main\n`)}0000`)])],
    ['invalid UTF-8', Buffer.concat([Buffer.from(`${pkt('# service=git-upload-pack\n')}0000`), Buffer.from('0009'), Buffer.from([0xff, 0xfe, 0xfd, 0xfc, 0x0a]), Buffer.from('0000')])],
  ];
  for (const [name, body] of bad) {
    it(`refuses ${name}`, () => {
      expect(() => parseRefAdvertisement(typeof body === 'string' ? Buffer.from(body) : body)).toThrow(GitError);
    });
  }
});

describe('splitPktLines', () => {
  it('splits data and flush packets and refuses oversize lengths', () => {
    expect(splitPktLines(Buffer.from(`${pkt('hi\n')}0000`)).map((p) => (p === null ? null : Buffer.from(p).toString()))).toEqual(['hi\n', null]);
    expect(() => splitPktLines(Buffer.from('fff1'))).toThrow(/exceeds 65520/);
    expect(() => splitPktLines(Buffer.from('0004'))).toThrow(/not part of protocol v0/);
    expect(splitPktLines(Buffer.from('000ahello\n'))).toHaveLength(1);
    expect(() => splitPktLines(Buffer.from('000Ahello\n'))).toThrow(/lowercase hex/);
  });
});
