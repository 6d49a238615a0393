import { describe, expect, it } from 'vitest';
import { listenOption } from '../../src/cli/listen-option.js';

describe('--listen', () => {
  const fallback = { host: '127.0.0.1', port: 8089 };
  it.each([
    [undefined, fallback],
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    ['8080', { host: '127.0.0.1', port: 8080 }],
  ])('%s', (value, expected) => expect(listenOption(value, fallback)).toEqual(expected));

  it.each(['http://127.0.0.1:80', '127.0.0.1', ':8080', '127.0.0.1:70000', '[nope]:80', 'a b:80'])('refuses %s as a usage error', (value) => {
    expect(() => listenOption(value, fallback)).toThrow(/--listen .*expected HOST:PORT/);
  });
});
