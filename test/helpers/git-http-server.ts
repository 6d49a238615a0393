// The server lives in scripts/servers/ so bench/ (built by tsconfig.build.json) can start it too.
export { startGitHttpServer, type GitHttpServer } from '../../scripts/servers/git-http-server.js';
