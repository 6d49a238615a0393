// Public API of src/deploy-repo: the deploy repo at a commit. Open it (local path or URL), resolve a revision
// (git's NAME~N^N syntax), read and load its declarations (errors as data), verify it under a trust policy.
// Sits above git/, trust/ and declarations/; reconcile/, plan/, bump/ and cli/ use it through this file only.
export { openDeployRepo, openLocalDeployRepo, type DeployRepo, type OpenDeployRepoOptions } from './open-deploy-repo.js';
export { parseRevision, type Revision, type RevisionStep } from './revision-syntax.js';
export { resolveRevision } from './resolve-revision.js';
export { readDeclarationsAt, loadDeclarationFiles, type DeclarationsAt, type DeclarationsRead } from './read-declarations.js';
export { requireDeclarations, type RequireOptions } from './require-declarations.js';
export { verifyAt, type TrustPolicy, type Verification } from './verify-at.js';
export { closuresInHistory } from './history-closures.js';
