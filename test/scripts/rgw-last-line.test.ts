// When a Ceph daemon dies while the test S3 server starts, its log's last line (why it died) goes on the
// first line of the error, which the benchmarks print alone when they skip RGW.
import { describe, expect, it } from 'vitest';
import { lastLine } from '../../scripts/servers/rgw.js';

describe('lastLine of a Ceph daemon log', () => {
  it('drops the timestamp, thread and level, and skips trailing blank lines', () => {
    const log = [
      '2026-12-05T01:39:54.998+0000 7f3a2c1fe640  0 starting mon.a rank 0 at public addrs [v1:127.0.0.1:6789/0]',
      '2026-12-05T01:39:55.123+0000 7f3a2c1fe640 -1 mon.a@0(leader) e1 reached critical levels of available space on local monitor storage -- shutdown!',
      '',
      '',
    ].join('\n');
    expect(lastLine(log)).toBe('mon.a@0(leader) e1 reached critical levels of available space on local monitor storage -- shutdown!');
  });

  it('keeps a line without the prefix as it is, and caps it at 200 characters', () => {
    expect(lastLine('plain failure\n')).toBe('plain failure');
    expect(lastLine('x'.repeat(300))).toHaveLength(200);
    expect(lastLine('')).toBe('');
  });
});
