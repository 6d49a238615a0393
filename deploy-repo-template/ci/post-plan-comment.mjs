#!/usr/bin/env node
// Posts the output of `flotilla plan --format markdown` as ONE pull-request comment, updating the earlier
// one instead of adding another: the comment is found by the hidden marker `<!-- flotilla-plan -->` that
// the plan starts with. Works with the GitHub REST API and the Gitea/Forgejo API (same comment endpoints;
// Gitea's lives under /api/v1). No dependencies: Node 18+ (global fetch).
//
// Environment:
//   FORGE_API    API base URL: https://api.github.com, or https://gitea.example.com/api/v1
//   FORGE_REPO   owner/name
//   FORGE_PR     pull request number
//   FORGE_TOKEN  a token allowed to comment on pull requests
//   PLAN_FILE    the markdown file (default plan.md)
import { readFileSync } from 'node:fs';

const MARKER = '<!-- flotilla-plan -->';
const need = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`post-plan-comment: ${name} is not set`);
    process.exit(2);
  }
  return v;
};
const api = need('FORGE_API').replace(/\/+$/, '');
const repo = need('FORGE_REPO');
const pr = need('FORGE_PR');
const token = need('FORGE_TOKEN');
const body = readFileSync(process.env.PLAN_FILE || 'plan.md', 'utf8');
if (!body.includes(MARKER)) {
  console.error('post-plan-comment: the plan has no <!-- flotilla-plan --> marker; run flotilla plan --format markdown');
  process.exit(2);
}
const headers = { authorization: `token ${token}`, accept: 'application/json', 'content-type': 'application/json' };

async function call(method, path, payload) {
  const res = await fetch(`${api}${path}`, { method, headers, ...(payload ? { body: JSON.stringify(payload) } : {}) });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

async function findComment() {
  for (let page = 1; page <= 50; page++) {
    // per_page is GitHub's name, limit Gitea's; each ignores the other.
    const list = await call('GET', `/repos/${repo}/issues/${pr}/comments?per_page=100&limit=50&page=${page}`);
    if (!Array.isArray(list) || list.length === 0) return undefined;
    const found = list.find((c) => typeof c.body === 'string' && c.body.includes(MARKER));
    if (found) return found;
  }
  return undefined;
}

const existing = await findComment();
if (existing) {
  await call('PATCH', `/repos/${repo}/issues/comments/${existing.id}`, { body });
  console.log(`updated plan comment ${existing.id}`);
} else {
  const created = await call('POST', `/repos/${repo}/issues/${pr}/comments`, { body });
  console.log(`posted plan comment ${created.id}`);
}
