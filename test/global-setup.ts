// Global setup for the whole suite. Servers shared by many test files (Ceph RGW) are started here once;
// each registers its own start/stop in test/helpers/. Per-file servers (git http-backend) start in the file.
export default async function setup(): Promise<() => Promise<void>> {
  const teardowns: Array<() => Promise<void>> = [];
  return async () => {
    for (const t of teardowns.reverse()) await t();
  };
}
