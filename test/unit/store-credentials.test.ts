import { describe, expect, it } from 'vitest';
import { credentialsFor } from '../../src/declarations/store-credentials.js';

const refs = [
  { match: 's3://acme-releases', accessKeyIdEnv: 'REL_KEY', secretAccessKeyEnv: 'REL_SECRET' },
  { match: 'https://mirror.example/', bearerTokenEnv: 'MIRROR_TOKEN' },
  { match: 'https://artifactory.example/', usernameEnv: 'AF_USER', passwordEnv: 'AF_PASS' },
];

describe('credentialsFor: store credentials by reference from the agent config', () => {
  const env = { REL_KEY: 'AKIA1', REL_SECRET: 's3cr3t', MIRROR_TOKEN: 'tok', AF_USER: 'u', AF_PASS: 'p' };

  it.each([
    ['s3://acme-releases/flotilla?endpoint=x', { kind: 's3', accessKeyId: 'AKIA1', secretAccessKey: 's3cr3t' }],
    ['https://mirror.example/flotilla/', { kind: 'bearer', token: 'tok' }],
    ['https://artifactory.example/repo/', { kind: 'basic', username: 'u', password: 'p' }],
    ['s3://other-bucket/', undefined],
  ])('%s', (url, expected) => {
    expect(credentialsFor(url, refs, env)).toEqual(expected);
  });

  it('names the unset variable, never a value', () => {
    expect(() => credentialsFor('s3://acme-releases/x', refs, { REL_KEY: 'AKIA1' })).toThrow(/REL_SECRET is not set/);
    try {
      credentialsFor('s3://acme-releases/x', refs, { REL_KEY: 'AKIA1' });
    } catch (err) {
      expect(JSON.stringify(err)).not.toContain('AKIA1');
    }
  });
});
