import { closurePaths, fetchNixClosure, narHashesOf, nixTrustOf } from '../fetch/nix-closure.js';
import { registerIfNix } from '../fetch/nix-register.js';
import { stageGeneration, syncNixGcRoots } from '../generations/index.js';
import type { NixStorePath } from '../store/closure-ref.js';
import type { SetContext } from './context.js';
import { runStep } from './step.js';
import type { Staged } from './step-fetch-stage.js';

/**
 * fetchAndStage for a set pinning a Nix store path: reads and verifies its closure from the Nix caches
 * (every narinfo signed under flotilla.yaml's nix keys before a NAR is read), places the paths the machine
 * lacks under `<root>/nix/store` (nothing visible unless all verify), registers them with the host's Nix
 * when it has one, and stages a generation whose `out` links the top path. With Nix, the generation's GC
 * root is made before the set may switch to it.
 */
export async function fetchAndStageNix(ctx: SetContext, top: NixStorePath, specs: Parameters<typeof stageGeneration>[0]['origin']): Promise<Staged> {
  const { set, ports, nix } = ctx;
  const fields = { set: set.name, digest: top };
  const fetched = await runStep(ctx.timings, ports.log, 'fetch', fields, () =>
    fetchNixClosure({ urls: nix.caches, trust: nixTrustOf(ctx.decls.config.nix), open: nix.open, signal: ports.signal }, top, nix.root),
  );
  ctx.fetched.bytes += fetched.result.fileBytes;
  let withNix = false;
  if (nix.register === 'auto') {
    const r = await runStep(ctx.timings, ports.log, 'nix-register', fields, () => registerIfNix(nix.root, fetched.closure, { signal: ports.signal }));
    withNix = r.nix;
    if (r.registered.length > 0) ports.log.info({ ...fields, paths: r.registered.length }, 'registered store paths with Nix');
  }
  const staged = await runStep(ctx.timings, ports.log, 'stage', fields, () =>
    stageGeneration({
      stateDir: ctx.stateDir,
      set: set.name,
      digest: top,
      packages: [],
      nix: { root: nix.root, paths: closurePaths(fetched.closure, top), narHashes: narHashesOf(fetched.closure) },
      origin: specs,
      ...(ports.crash ? { crash: ports.crash } : {}),
      now: () => ports.clock.now(),
    }),
  );
  if (withNix) await syncNixGcRoots(ctx.stateDir, nix.root);
  return { generation: staged.generation, created: staged.created, bytesFetched: fetched.result.fileBytes };
}
