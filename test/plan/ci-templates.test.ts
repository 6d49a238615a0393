import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { makeScratch, type Scratch } from '../helpers/git-repo.js';

const CI = resolve('deploy-repo-template/ci');
const SCRIPT = join(CI, 'post-plan-comment.mjs');

type Json = Record<string, unknown>;
const docs = (file: string): Json[] => {
  const all = parseAllDocuments(readFileSync(join(CI, file), 'utf8'));
  const list = Array.isArray(all) ? all : [all];
  for (const d of list) expect(d.errors.map((e) => e.message), file).toEqual([]);
  return list.map((d) => d.toJS() as Json);
};
const runs = (job: Json): string => JSON.stringify(job['steps']);

describe('CI templates in deploy-repo-template/ci', () => {
  it.each(['github-actions.yml', 'gitea-actions.yml'])('%s: validate + plan + comment on pull requests, status on main', (file) => {
    const [wf] = docs(file);
    const on = wf!['on'] as Json;
    expect(Object.keys(on).sort()).toEqual(['pull_request', 'push']);
    const jobs = wf!['jobs'] as Record<string, Json>;
    const plan = runs(jobs['plan']!);
    expect(plan).toContain('validate --repo . --rev HEAD');
    expect(plan).toMatch(/plan \\"\$base\\" HEAD --repo \. .*--format markdown > plan\.md/);
    expect(plan).toContain('node ci/post-plan-comment.mjs');
    expect(plan).toContain('fetch-depth');
    expect(runs(jobs['status']!)).toContain('status --repo .');
  });

  it.each(['auto-revert-github-actions.yml', 'auto-revert-gitea-actions.yml'])('%s: opt-in, scheduled, revert --if-quarantined for every set, then push, one run at a time', (file) => {
    const [wf] = docs(file);
    const on = wf!['on'] as Json;
    expect(Object.keys(on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    expect(on['schedule']).toEqual([{ cron: expect.stringMatching(/^\S+ \S+ \S+ \S+ \S+$/) as unknown }]);
    expect(wf!['concurrency']).toMatchObject({ group: 'flotilla-auto-revert', 'cancel-in-progress': false });
    const job = (wf!['jobs'] as Record<string, Json>)['auto-revert']!;
    const steps = runs(job);
    expect(steps).toContain('for file in sets/*.yaml');
    expect(steps).toMatch(/revert \\"\$set_name\\" --if-quarantined --repo \. --sign-key/);
    expect(steps).toContain('git push origin HEAD:main');
    expect(steps).toContain('fetch-depth');
  });

  it('drone.yml: a plan pipeline on pull requests and a status pipeline on main', () => {
    const [plan, status] = docs('drone.yml');
    expect(plan).toMatchObject({ kind: 'pipeline', name: 'plan', trigger: { event: ['pull_request'] } });
    expect(runs(plan!)).toContain('--format markdown > plan.md');
    expect(runs(plan!)).toContain('node ci/post-plan-comment.mjs');
    expect(status).toMatchObject({ kind: 'pipeline', name: 'status', trigger: { event: ['push'], branch: ['main'] } });
    expect(runs(status!)).toContain('status --repo .');
  });
});

describe('post-plan-comment.mjs against a forge API on localhost', () => {
  let scratch: Scratch;
  let server: Server;
  let api: string;
  const comments: Array<{ id: number; body: string }> = [{ id: 1, body: 'looks good' }];
  const calls: string[] = [];

  const readBody = (req: IncomingMessage): Promise<string> => new Promise((done) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => done(b));
  });

  beforeAll(async () => {
    scratch = await makeScratch('ci');
    server = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        calls.push(`${req.method} ${url.pathname} ${req.headers.authorization}`);
        res.setHeader('content-type', 'application/json');
        if (req.method === 'GET' && url.pathname === '/api/v1/repos/ops/deploy/issues/7/comments') {
          res.end(JSON.stringify(url.searchParams.get('page') === '1' ? comments : []));
        } else if (req.method === 'POST' && url.pathname === '/api/v1/repos/ops/deploy/issues/7/comments') {
          const c = { id: comments.length + 1, body: (JSON.parse(await readBody(req)) as { body: string }).body };
          comments.push(c);
          res.end(JSON.stringify(c));
        } else if (req.method === 'PATCH' && url.pathname.startsWith('/api/v1/repos/ops/deploy/issues/comments/')) {
          const c = comments.find((x) => x.id === Number(url.pathname.split('/').pop()))!;
          c.body = (JSON.parse(await readBody(req)) as { body: string }).body;
          res.end(JSON.stringify(c));
        } else {
          res.statusCode = 404;
          res.end('{}');
        }
      })();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
    await scratch.cleanup();
  });

  const post = async (body: string): Promise<{ code: number; out: string }> => {
    const file = join(scratch.path, 'plan.md');
    await writeFile(file, body);
    return new Promise((done) => {
      const child = spawn(process.execPath, [SCRIPT], {
        env: { PATH: process.env['PATH'] ?? '', FORGE_API: api, FORGE_REPO: 'ops/deploy', FORGE_PR: '7', FORGE_TOKEN: 'tok', PLAN_FILE: file },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('close', (code) => done({ code: code ?? -1, out }));
    });
  };

  it('posts the plan once, then updates that same comment on the next run', async () => {
    const first = await post('<!-- flotilla-plan -->\nplan one\n');
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain('posted plan comment 2');
    const second = await post('<!-- flotilla-plan -->\nplan two\n');
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain('updated plan comment 2');
    expect(comments).toEqual([{ id: 1, body: 'looks good' }, { id: 2, body: '<!-- flotilla-plan -->\nplan two\n' }]);
    expect(calls.every((c) => c.endsWith('token tok'))).toBe(true);
  });

  it('refuses a body without the marker (it could never be found again), posting nothing', async () => {
    const before = calls.length;
    const r = await post('plain text\n');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/no <!-- flotilla-plan --> marker/);
    expect(calls.length).toBe(before);
  });
});
