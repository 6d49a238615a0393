import { describe, expect, it } from 'vitest';
import { findCommand } from '../../src/cli/commands.js';

describe('findCommand: two-word sub-verbs before one-word verbs', () => {
  it.each([
    { argv: ['agent', 'reconcile', '--state', '/s'], name: 'agent reconcile', rest: ['--state', '/s'] },
    { argv: ['agent', 'status', '--json'], name: 'agent status', rest: ['--json'] },
    { argv: ['agent', '--config', 'a.yaml', '--once'], name: 'agent', rest: ['--config', 'a.yaml', '--once'] },
    { argv: ['agent', 'bogus'], name: 'agent', rest: ['bogus'] },
    { argv: ['pause', 'web'], name: 'pause', rest: ['web'] },
    { argv: ['fsck'], name: 'fsck', rest: [] },
  ])('$argv', ({ argv, name, rest }) => {
    expect(findCommand(argv)).toMatchObject({ entry: { name }, rest });
  });

  it('knows no verb that is not in the table', () => {
    expect(findCommand(['reconcile'])).toBeUndefined();
    expect(findCommand(['status', 'reconcile'])).toMatchObject({ entry: { name: 'status' }, rest: ['reconcile'] });
  });
});
