'use strict';
// `import()` of an ES module by URL, from a file Node's own CommonJS loader loads. The CLI's bundles are
// CommonJS run as scripts: their bundler turns every `import()` into a `require` (on purpose, so that
// no ES module loader starts: scripts/bundle-cli.mjs), and a script has no loader for an `import()`
// anyway. This file is copied beside the bundles as it is, never bundled. nix/zstd-stream.ts uses it for
// zstddec, which has no CommonJS build.
module.exports = (url) => import(url);
