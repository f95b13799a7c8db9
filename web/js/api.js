// The operator API with the bearer token the operator gave (kept for this browser tab only,
// unless they chose to remember it on this device).

const KEY = 'fwseal.token';

export function token() {
  return sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || '';
}

export function setToken(t, remember) {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
  if (t) (remember ? localStorage : sessionStorage).setItem(KEY, t);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, opts = {}) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t && !opts.public) headers.Authorization = `Bearer ${t}`;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(path, { method: opts.method || 'GET', headers, body, cache: 'no-store' });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || 'error', e.message || `HTTP ${res.status}`);
  }
  return data;
}

export const get = (path, opts) => api(path, opts);
export const post = (path, body) => api(path, { method: 'POST', body: body === undefined ? {} : body });
