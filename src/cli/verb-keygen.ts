import { resolve } from 'node:path';
import type { Command } from './command.js';
import { stringOption } from './command.js';
import { requireOption } from '../packages/cli-args.js';
import { generateKeyPair, writeSecretKeyFile } from '../trust/publisher-key.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/** `flotilla keygen --name NAME [--out FILE]`: an ed25519 publisher key pair; the secret file is 0600. */
export const command: Command = {
  name: 'keygen',
  summary: 'create an ed25519 publisher key pair (NAME:base64, like Nix)',
  usage: 'flotilla keygen --name NAME [--out FILE]',
  description: 'Writes the secret key to FILE (default NAME.secret, mode 0600, never overwritten) and the public key to FILE.pub, and prints the public key. Rotate keys by bumping a suffix: acme-release-2.',
  options: {
    name: { type: 'string', value: 'NAME', help: 'key name (A-Z a-z 0-9 . _ -), e.g. acme-release-1' },
    out: { type: 'string', value: 'FILE', help: 'secret key file (default NAME.secret)' },
  },
  async run(input, ctx) {
    const name = requireOption(stringOption(input, 'name'), 'name');
    const keys = generateKeyPair(name);
    const out = resolve(ctx.cwd, stringOption(input, 'out') ?? `${name}.secret`);
    await writeSecretKeyFile(out, keys.secret);
    await writeFileAtomic(`${out}.pub`, `${keys.public}\n`, 0o644);
    return { exitCode: 0, text: keys.public, json: { name, publicKey: keys.public, secretKeyFile: out, publicKeyFile: `${out}.pub` } };
  },
};
