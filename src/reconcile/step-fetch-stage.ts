import { fetchClosure } from '../fetch/fetch-closure.js';
import { stageGeneration, type Generation } from '../generations/index.js';
import type { SetContext } from './context.js';
import { runStep } from './step.js';
import type { ActivationSpec, HealthSpec } from '../activation/spec.js';
import { closureKind } from '../store/closure-ref.js';
import { isDigest } from '../store/digest.js';
import { fetchAndStageNix } from './step-fetch-stage-nix.js';

function recordedSpecs(ctx: SetContext): { activation?: ActivationSpec; health?: HealthSpec } {
  const activation = ctx.set.activate;
  const health = ctx.set.health;
  return { ...(activation ? { activation } : {}), ...(health ? { health } : {}) };
}

/** What fetch and stage produced: the staged generation and the bytes this machine had to fetch. */
export interface Staged {
  generation: Generation;
  created: boolean;
  bytesFetched: number;
}

/**
 * Fetches and verifies the set's closure (signatures and policy before any file object, every byte
 * re-hashed), then stages a generation for it. Both happen before any lease is taken, so a slot only ever
 * covers the switch itself. Staging a closure identical to `current` is a no-op.
 */
export async function fetchAndStage(ctx: SetContext): Promise<Staged> {
  const { set, ports } = ctx;
  const closure = set.closure;
  // The one place a tick asks what kind of closure it is: a Nix store path has its own fetch and stage.
  if (!isDigest(closure)) return fetchAndStageNix(ctx, closure, { commit: ctx.commit, signer: ctx.signer, ...recordedSpecs(ctx) });
  const fields = { set: set.name, digest: closure, kind: closureKind(closure) };
  const fetched = await runStep(ctx.timings, ports.log, 'fetch', fields, () =>
    fetchClosure({ stores: ctx.stores, digest: closure, policy: ctx.policy, stateDir: ctx.stateDir, signal: ports.signal }),
  );
  ctx.fetched.bytes += fetched.bytesFetched;
  const staged = await runStep(ctx.timings, ports.log, 'stage', fields, () =>
    stageGeneration({
      stateDir: ctx.stateDir,
      set: set.name,
      digest: closure,
      packages: fetched.packages,
      origin: { commit: ctx.commit, signer: ctx.signer, ...recordedSpecs(ctx) },
      ...(ports.crash ? { crash: ports.crash } : {}),
      now: () => ports.clock.now(),
    }),
  );
  return { generation: staged.generation, created: staged.created, bytesFetched: fetched.bytesFetched };
}
