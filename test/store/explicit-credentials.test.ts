import { afterEach, describe, expect, inject, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';

// The agent config names credentials per store (by environment variable); they must be used even when
// the process's standard AWS variables hold other (here: wrong) keys.
describe('explicit S3 credentials on Ceph RGW', () => {
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  afterEach(() => {
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  });

  it('uses the given keys and ignores wrong ones in the environment', async () => {
    const url = await s3TestUrl('creds/');
    const s3 = inject('s3');
    process.env.AWS_ACCESS_KEY_ID = 'WRONGKEY';
    process.env.AWS_SECRET_ACCESS_KEY = 'wrongsecret';
    const withKeys = openStore(url, { credentials: { kind: 's3', accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey } });
    const withEnv = openStore(url);
    try {
      await withKeys.put('pins/explicit', Buffer.from('ok'));
      expect((await withKeys.getBytes('pins/explicit', { maxBytes: 10 })).toString()).toBe('ok');
      await expect(withEnv.getBytes('pins/explicit', { maxBytes: 10 })).rejects.toMatchObject({ code: expect.stringMatching(/AccessDeniedError|TransportError/) as string });
    } finally {
      await withKeys.close();
      await withEnv.close();
    }
  });
});
