import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { parseAllowedSigners, parseSshTime } from '../../src/trust/allowed-signers.js';
import { matchSshPatternList } from '../../src/trust/ssh-pattern.js';

// A well-formed ed25519 key blob (any 32 bytes are a valid point) and a security-key type we do not verify.
const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOs5JvxYV8KQ0s1V3iU3jR3z6bW6fVn3m9fIFHqfVwQK';
const SK = 'sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIOs5JvxYV8KQ0s1V3iU3jR3z6bW6fVn3m9fIFHqfVwQKAAAABHNzaDo=';

function keyError(text: string): unknown {
  try {
    parseAllowedSigners(text, 'allowed_signers');
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('parseAllowedSigners', () => {
  it('reads principals, options, key and comment', () => {
    const [a, b, c] = parseAllowedSigners(
      [
        '# comment',
        '',
        `alice@x,*@ops.example ${ED} alice laptop`,
        `"bob@x" namespaces="git,file",valid-after=20240101,valid-before="20300101Z" ${ED}`,
        `ca@x cert-authority ${ED}`,
      ].join('\n'),
      'allowed_signers',
    );
    expect(a!.principals).toEqual(['alice@x', '*@ops.example']);
    expect(a!.key?.type).toBe('ssh-ed25519');
    expect(a!.origin).toBe('allowed_signers:3');
    expect(b!.principals).toEqual(['bob@x']);
    expect(b!.namespaces).toEqual(['git', 'file']);
    expect(b!.validBefore).toBe(Date.UTC(2030, 0, 1));
    expect(b!.validAfter).toBe(new Date(2024, 0, 1).getTime());
    expect(c!.certAuthority).toBe(true);
  });

  it('keeps a key type it cannot verify, without a parsed key', () => {
    const [s] = parseAllowedSigners(`sk@x ${SK}\n`, 'f');
    expect(s!.keyType).toBe('sk-ssh-ed25519@openssh.com');
    expect(s!.key).toBeUndefined();
  });

  it.each([
    ['empty file', ''],
    ['only comments', '# nobody\n\n'],
    ['unknown option', `a@x no-touch-required ${ED}`],
    ['missing key', 'a@x ssh-ed25519'],
    ['not base64', 'a@x ssh-ed25519 !!!'],
    ['type mismatch', `a@x ecdsa-sha2-nistp256 ${ED.split(' ')[1]}`],
    ['bad date', `a@x valid-after=20241399 ${ED}`],
    ['broken key bytes', 'a@x ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAAQ=='],
  ])('refuses %s with KeyError naming the file', (_name, text) => {
    const err = keyError(text);
    expect(hasCode(err, 'KeyError'), String(err)).toBe(true);
    expect((err as Error).message).toContain('allowed_signers');
  });

  it('parses ssh-keygen times', () => {
    expect(parseSshTime('20250102Z')).toBe(Date.UTC(2025, 0, 2));
    expect(parseSshTime('202501021314Z')).toBe(Date.UTC(2025, 0, 2, 13, 14));
    expect(parseSshTime('20250102131415Z')).toBe(Date.UTC(2025, 0, 2, 13, 14, 15));
    expect(() => parseSshTime('2025')).toThrow();
  });

  it('matches OpenSSH pattern lists with wildcards and negation', () => {
    expect(matchSshPatternList('git', ['file', 'g*'])).toBe(true);
    expect(matchSshPatternList('git', ['file'])).toBe(false);
    expect(matchSshPatternList('git', ['*', '!git'])).toBe(false);
    expect(matchSshPatternList('gat', ['g?t'])).toBe(true);
  });
});
