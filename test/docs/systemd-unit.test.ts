import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const UNIT = 'examples/flotilla-agent.service';

// The hardening the example unit promises (docs/operations.md): each must be a key systemd knows, set as
// written, with a comment above it saying what it costs activation commands.
const HARDENING = [
  'NoNewPrivileges=true', 'ProtectHome=read-only', 'PrivateTmp=true', 'ProtectKernelModules=true', 'ProtectKernelLogs=true',
  'ProtectControlGroups=true', 'ProtectClock=true', 'LockPersonality=true', 'RestrictRealtime=true', 'RestrictSUIDSGID=true',
  'SystemCallArchitectures=native', 'UMask=0077', 'ProtectHostname=true',
];

describe('the example systemd unit', () => {
  it('is accepted by systemd-analyze verify with no unknown or invalid keys', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-unit-'));
    try {
      // ExecStart must name an executable that exists here; everything else is checked as shipped.
      const text = (await readFile(UNIT, 'utf8')).replace(/^ExecStart=\S+/m, 'ExecStart=/bin/true');
      const file = join(dir, 'flotilla-agent.service');
      await writeFile(file, text);
      const { stderr } = await exec('systemd-analyze', ['verify', file]);
      expect(stderr.trim()).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each(HARDENING)('sets %s, with a comment on what it costs activation', async (line) => {
    const lines = (await readFile(UNIT, 'utf8')).split('\n');
    const at = lines.indexOf(line);
    expect(at, `${line} in ${UNIT}`).toBeGreaterThan(0);
    expect(lines[at - 1]).toMatch(/^# /);
  });
});
