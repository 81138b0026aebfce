// The admin API, as the console calls it: the credential goes in the Authorization header and nowhere
// else (not in a URL, a body, a cookie or a log line); answers are JSON; errors are ApiError with the
// host's stable reason.

import { credential } from './session.js';

const BASE = '/admin/v1';

export class ApiError extends Error {
  constructor(status, reason, message) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

// Path segments are encoded one by one: `path('workspaces', ws, 'projects', key)`.
export const path = (...segments) => '/' + segments.map((s) => encodeURIComponent(s)).join('/');

// A call with a credential given explicitly (sign-in tries one before keeping it) or the kept one.
export async function call(method, p, { query, body, secret } = {}) {
  const url = new URL(BASE + p, location.origin);
  for (const [k, v] of Object.entries(query || {})) if (v != null && v !== '') url.searchParams.set(k, String(v));
  const headers = { authorization: `Bearer ${secret ?? credential() ?? ''}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
    });
  } catch (err) {
    throw new ApiError(0, 'network', err.message);
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { /* not JSON: the status says it */ }
  if (!res.ok) {
    const e = new ApiError(res.status, data?.error?.reason || `http_${res.status}`, data?.error?.message || res.statusText);
    // The kept credential stopped working (revoked, expired): the console signs out.
    if (res.status === 401 && secret === undefined) window.dispatchEvent(new CustomEvent('scopegate:unauthorized', { detail: e }));
    throw e;
  }
  return data;
}

export const get = (p, query) => call('GET', p, { query });
export const post = (p, body) => call('POST', p, { body });
export const put = (p, body) => call('PUT', p, { body });
export const del = (p) => call('DELETE', p);

// One page of a list: `{values, next}` where `next` is the cursor of the following page or null. Lists
// answer `{values, pagelen, next_cursor}` (absent or null on the last page).
export async function page(p, { limit = 100, cursor = null, ...query } = {}) {
  const data = await get(p, { ...query, limit, cursor });
  return { values: data.values || [], next: data.next_cursor ?? null };
}

// A workspace's token policy, in whichever shape the host gives it.
export function policyOf(ws) {
  const p = ws.token_policy || ws;
  return { plan: ws.plan, max_lifetime_days: p.max_lifetime_days ?? 365, allow_no_expiry: !!p.allow_no_expiry };
}
