import { openStore } from '../../src/store/open-store.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';
import { runStoreContract } from './contract.js';

runStoreContract('s3 (Ceph RGW or FLOTILLA_TEST_S3_ENDPOINT)', async () => {
  const store = openStore(await s3TestUrl('some/prefix/'));
  return { store, writer: store, cleanup: () => store.close() };
});
