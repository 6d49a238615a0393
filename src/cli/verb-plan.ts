import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import { buildPlan } from '../plan/build-plan.js';
import { gatherPlanInput } from '../plan/gather-plan.js';
import { resolvePlanRevisions } from '../plan/plan-revisions.js';
import { renderPlanMarkdown } from '../plan/render-markdown.js';
import { renderPlanText } from '../plan/render-text.js';
import { loadCommitTrust, type CommitTrust } from '../trust/commit-trust.js';
import { stringList, stringOption, type Command } from './command.js';

async function pinnedTrust(file: string | undefined): Promise<CommitTrust | undefined> {
  if (file === undefined) return undefined;
  const head = (await readFile(file, 'utf8').catch(() => '')).trimStart();
  return loadCommitTrust(head.startsWith('-----BEGIN PGP') ? { pgpKeyFiles: [file], verify: 'all' } : { allowedSignersFile: file, verify: 'all' });
}

/** `flotilla plan [BASE] [HEAD]`: what merging would roll out, every check, and one verdict (exit 1 on failure). */
export const command: Command = {
  name: 'plan',
  summary: 'what merging BASE..HEAD will do: closure diffs, checks, rollout schedule (PR comment)',
  usage: 'flotilla plan [BASE] [HEAD] [--repo DIR|URL] [--store URL] [--trust-file F] [--format markdown|json|text]',
  description: `For every set whose declaration changes between BASE and HEAD: old -> new closure, packages and
provenance, the closure diff (sizes, bytes each machine fetches), the checks (closure signatures and
deployable flag per HEAD's policy, quarantine, schemas and rules, signatures of every commit in BASE..HEAD
against --trust-file or BASE's allowed_signers, dependsOn) and the rollout schedule (batches, canary, pauses,
next window, what a failure does). BASE and HEAD are git revisions: a branch, tag, HEAD or commit id (4+ hex
digits), then any ~N or ^N (HEAD~1, main^2). HEAD defaults to HEAD; BASE to the merge-base of HEAD with --main
(or origin/MAIN), or to HEAD~1 when HEAD is already on --main or there is no --main. With --repo URL, names are
branches of the server: HEAD defaults to --main, and BASE to the tip of --main (HEAD~1 when that is HEAD).
Exit 0 when every check passes, 1 otherwise. The markdown carries <!-- flotilla-plan --> for CI comments.`,
  positionals: { min: 0, max: 2 },
  options: {
    repo: { type: 'string', value: 'DIR|URL', help: 'deploy repo (default: the current directory)' },
    store: { type: 'string', multiple: true, value: 'URL', help: "store(s) holding the closures (default: HEAD's stores)" },
    'trust-file': { type: 'string', value: 'FILE', help: "pinned commit signers (allowed_signers or armored OpenPGP key); default BASE's allowed_signers" },
    format: { type: 'string', value: 'FORMAT', help: 'markdown, json or text (default text)' },
    main: { type: 'string', value: 'BRANCH', help: 'the main branch for the default BASE (default main)' },
    at: { type: 'string', value: 'ISO-TIME', help: 'judge maintenance windows at this instant (default now)' },
  },
  async run(input, ctx) {
    const format = stringOption(input, 'format') ?? 'text';
    if (!['markdown', 'json', 'text'].includes(format)) throw new UsageError(`--format must be markdown, json or text, got ${JSON.stringify(format)}`);
    const at = stringOption(input, 'at');
    const now = at === undefined ? new Date() : new Date(at);
    if (Number.isNaN(now.getTime())) throw new UsageError(`--at: not an ISO time: ${JSON.stringify(at)}`);
    const trustArg = stringOption(input, 'trust-file');
    const trustFile = trustArg === undefined ? undefined : resolve(ctx.cwd, trustArg);
    const trust = await pinnedTrust(trustFile);
    const [base, head] = input.positionals;
    const revs = await resolvePlanRevisions({
      repo: stringOption(input, 'repo') ?? '.', ...(base !== undefined ? { base } : {}), ...(head !== undefined ? { head } : {}),
      main: stringOption(input, 'main') ?? 'main', cwd: ctx.cwd, env: ctx.env, signal: ctx.signal,
    });
    try {
      const gathered = await gatherPlanInput({
        gitdir: revs.gitdir, base: revs.base, head: revs.head, storeUrls: stringList(input, 'store'), cwd: ctx.cwd,
        ...(trust ? { trust, trustSource: trustArg ?? '--trust-file' } : {}), now, signal: ctx.signal,
      });
      const plan = buildPlan(gathered);
      const text = format === 'markdown' ? renderPlanMarkdown(plan) : format === 'json' ? JSON.stringify(plan, null, 2) : renderPlanText(plan);
      return { exitCode: plan.ok ? 0 : 1, text, json: plan };
    } finally {
      await revs.cleanup();
    }
  },
};
