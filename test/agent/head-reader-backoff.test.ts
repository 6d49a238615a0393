// The supervisor's HeadReader after full ticks: a tick that could not reach git starts the same backoff as a
// failed head check, so a fleet stops asking a git host that is down; a tick that failed for another reason
// (an untrusted commit) does not, and a tick that synced ends the backoff.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadAgentConfigText } from '../../src/declarations/index.js';
import { HeadReader } from '../../src/agent/head-reader.js';

const CONFIG = loadAgentConfigText('agent.yaml', 'machine: web-1\nrepo:\n  url: https://git.example/deploy.git\ntrust:\n  allowedSignersFile: /etc/flotilla/allowed_signers\n');
const A = 'a'.repeat(40);

function reader(nowMs: { t: number }, gitReads: { n: number }): HeadReader {
  if (!CONFIG.ok) throw new Error('fixture config refused');
  return new HeadReader({
    config: CONFIG.value,
    log: pino({ level: 'silent' }),
    metrics: { countHeadRead: () => undefined },
    now: () => nowMs.t,
    readGitHead: () => {
      gitReads.n++;
      return Promise.resolve(A);
    },
  });
}

describe('HeadReader after a tick', () => {
  it.each(['GitError', 'TransportError', 'TimeoutError'])('a tick failing with %s backs git off: the next poll asks git nothing', async (code) => {
    const now = { t: 1_000_000 };
    const reads = { n: 0 };
    const heads = reader(now, reads);
    await heads.afterTick({ commit: null, errorCode: code });
    expect(heads.backingOff()).toBe(true);
    expect(heads.snapshot().gitFailures).toBe(1);
    await heads.readHead();
    expect(reads.n).toBe(0);
    // Past the backoff (at most its cap), git is asked again.
    now.t += 11 * 60_000;
    expect(heads.backingOff()).toBe(false);
    await heads.readHead();
    expect(reads.n).toBe(1);
  });

  it('a tick refused for another reason (an untrusted commit) does not back git off', async () => {
    const heads = reader({ t: 1_000_000 }, { n: 0 });
    await heads.afterTick({ commit: null, errorCode: 'SignatureError' });
    expect(heads.backingOff()).toBe(false);
  });

  it('a tick that synced ends the backoff', async () => {
    const heads = reader({ t: 1_000_000 }, { n: 0 });
    await heads.afterTick({ commit: null, errorCode: 'GitError' });
    await heads.afterTick({ commit: A });
    expect(heads.backingOff()).toBe(false);
    expect(heads.snapshot().gitFailures).toBe(0);
  });
});
