// The server lives in scripts/servers/ so bench/ (built by tsconfig.build.json) can start it too.
export { startHttpStoreServer, type HttpStoreServer } from '../../scripts/servers/http-store-server.js';
