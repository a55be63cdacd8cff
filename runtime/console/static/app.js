// Resolute console: a single page over the admin API (POST /query, GET /services,
// GET /deployments, PATCH /invocations/{id}/{operation}).
//
// Everything shown comes from the server and is user data (invocation ids, keys, state values,
// failure messages): it is put in the page only as text nodes and attribute values (el below),
// never as HTML, and every value put into SQL goes through lit.
'use strict';

const TOKEN_KEY = 'resolute-admin-token';
const API_ROOT = new URL('../', document.baseURI); // the admin API: the parent of /ui/
const LIST_LIMIT = 200; // rows per page of the invocations list (?limit= overrides, 1 to 1000)
const AUTO_KEY = 'resolute-auto-refresh';
const AUTO_INTERVAL_MS = 3000;

const STATUSES = ['pending', 'scheduled', 'ready', 'running', 'backing-off', 'suspended', 'paused', 'completed'];
const AGES = [
  ['', 'any age'],
  ['new-5m', 'created in the last 5 minutes'],
  ['new-1h', 'created in the last hour'],
  ['new-1d', 'created in the last day'],
  ['old-5m', 'older than 5 minutes'],
  ['old-1h', 'older than an hour'],
  ['old-1d', 'older than a day'],
  ['old-7d', 'older than a week'],
];
const AGE_INTERVALS = { '5m': '5 minutes', '1h': '1 hour', '1d': '1 day', '7d': '7 days' };

const OPERATIONS = {
  cancel: { label: 'Cancel', help: 'The handler sees a cancellation at its next await and may run compensations; calls it is waiting on are cancelled too.' },
  kill: { label: 'Kill', help: 'Ends the invocation at once without running its handler again; its callers get a failure. Cancel is gentler.' },
  pause: { label: 'Pause', help: 'Stops retrying the invocation until it is resumed.' },
  resume: { label: 'Resume', help: 'Resumes a paused invocation (or retries a backing-off one now).' },
  purge: { label: 'Purge', help: 'Deletes the completed invocation: its status, journal and idempotency key.' },
};

// ---- DOM ------------------------------------------------------------------------------------

// el builds an element: attributes are set as values (never parsed as HTML), "on*" attributes
// become listeners, and children are nodes or strings (text nodes).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

// route builds a hash link: every part is percent-encoded.
function route(path, params) {
  let h = '#/' + path.map(encodeURIComponent).join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v) q.set(k, v);
  const qs = q.toString();
  return qs ? h + '?' + qs : h;
}

// pick is obj's entries named in keys.
function pick(obj, keys) {
  return Object.fromEntries(keys.map((k) => [k, obj[k]]));
}

function link(path, params, ...children) {
  return el('a', { href: route(path, params) }, ...children);
}

function show(...nodes) {
  const main = document.getElementById('main');
  main.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
}

function setNav(name) {
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.classList.toggle('active', a.dataset.nav === name);
  }
  document.getElementById('signout').hidden = !sessionStorage.getItem(TOKEN_KEY);
}

// ---- formatting ---------------------------------------------------------------------------------

function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  if (isNaN(d)) return String(s);
  return d.toISOString().replace('T', ' ').replace(/\.000Z$/, 'Z');
}

function fmtAgo(s) {
  if (!s) return '';
  const ms = Date.now() - new Date(s).getTime();
  if (isNaN(ms)) return '';
  const sec = Math.round(Math.abs(ms) / 1000);
  const [n, unit] = sec < 90 ? [sec, 's'] : sec < 5400 ? [Math.round(sec / 60), 'min'] : sec < 129600 ? [Math.round(sec / 3600), 'h'] : [Math.round(sec / 86400), 'd'];
  return ms >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

function timeCell(s) {
  return s ? el('time', { datetime: s, title: fmtAgo(s) }, fmtTime(s)) : '';
}

function statusBadge(status) {
  return el('span', { class: 'status status-' + String(status).replace(/[^a-z-]/g, '') }, status || '?');
}

// ---- the API ------------------------------------------------------------------------------------

class AuthError extends Error {}
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(new URL(path, API_ROOT), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await resp.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (_) {
    json = null;
  }
  const message = (json && typeof json.message === 'string') ? json.message : text || resp.statusText;
  if (resp.status === 401) throw new AuthError(message);
  if (!resp.ok) throw new ApiError(resp.status, message);
  return { status: resp.status, json };
}

// lit quotes a value as an SQL string literal.
function lit(v) {
  return "'" + String(v).replaceAll("'", "''") + "'";
}

async function sql(query) {
  const r = await request('POST', 'query', { query });
  return (r.json && r.json.rows) || [];
}

// ---- pages ---------------------------------------------------------------------------------------

function errorBox(err) {
  return el('div', { class: 'error', role: 'alert' },
    el('strong', {}, err instanceof ApiError ? `The server answered ${err.status}: ` : 'Error: '),
    err.message);
}

function loginPage(message) {
  setNav('');
  const input = el('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'off', required: true, size: 40 });
  const form = el('form', {
    class: 'card login', id: 'login', onsubmit: (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      render();
    },
  },
  el('h1', {}, 'Admin token'),
  el('p', {}, 'This server\'s admin API asks for a bearer token (one of the lines of its --admin-tokens-file). ',
    'The console keeps it in this tab only and sends it with every request.'),
  message ? el('p', { class: 'error' }, message) : null,
  el('label', {}, 'Token ', input), ' ',
  el('button', { type: 'submit' }, 'Use token'));
  show(form);
  input.focus();
}

// Invocations list -----------------------------------------------------------------------------

const FILTERS = ['status', 'service', 'key', 'age', 'limit'];

// invocationFilters are the list's filters, page size and position (before: the created_at and
// id of the last row of the page before, "<created_at> <id>").
function invocationFilters(params) {
  const limit = Number.parseInt(params.get('limit') || '', 10);
  return {
    status: params.get('status') || '',
    service: params.get('service') || '',
    key: params.get('key') || '',
    age: params.get('age') || '',
    limit: limit >= 1 && limit <= 1000 ? String(limit) : '',
    before: params.get('before') || '',
  };
}

function pageSize(f) { return f.limit ? Number(f.limit) : LIST_LIMIT; }

// invocationsQuery reads one page, newest first, and one row more to know whether older ones
// follow; a page after the first starts below the last row of the one before it.
function invocationsQuery(f) {
  const where = [];
  const at = / inv_/.exec(f.before);
  if (at) {
    const ts = lit(f.before.slice(0, at.index)), id = lit(f.before.slice(at.index + 1));
    where.push(`(created_at < CAST(${ts} AS TIMESTAMP) OR (created_at = CAST(${ts} AS TIMESTAMP) AND id > ${id}))`);
  }
  if (f.status === 'active') where.push("status <> 'completed'");
  else if (STATUSES.includes(f.status)) where.push('status = ' + lit(f.status));
  if (f.service) where.push('target_service_name = ' + lit(f.service));
  if (f.key) where.push('target_service_key = ' + lit(f.key));
  const m = /^(new|old)-(5m|1h|1d|7d)$/.exec(f.age);
  if (m) where.push(`created_at ${m[1] === 'new' ? '>=' : '<'} now() - INTERVAL ${lit(AGE_INTERVALS[m[2]])}`);
  return 'SELECT id, target, target_service_name, target_service_key, target_handler_name, status, ' +
    'created_at, modified_at, retry_count, last_failure, completion_result, completion_failure ' +
    'FROM sys_invocation' + (where.length ? ' WHERE ' + where.join(' AND ') : '') +
    ` ORDER BY created_at DESC, id LIMIT ${pageSize(f) + 1}`;
}

async function servicesList() {
  const r = await request('GET', 'services');
  const services = (r.json && r.json.services) || [];
  return services.slice().sort((a, b) => a.name.localeCompare(b.name));
}

function select(attrs, options, value) {
  return el('select', attrs, options.map(([v, label]) => el('option', { value: v, selected: v === value }, label)));
}

async function invocationsPage(params) {
  setNav('invocations');
  const f = invocationFilters(params);
  const [page, services] = await Promise.all([sql(invocationsQuery(f)), servicesList()]);
  const rows = page.slice(0, pageSize(f));
  const last = rows[rows.length - 1];
  const older = page.length > rows.length && last ? route(['invocations'], { ...pick(f, FILTERS), before: last.created_at + ' ' + last.id }) : null;
  const serviceNames = services.map((s) => s.name);
  if (f.service && !serviceNames.includes(f.service)) serviceNames.push(f.service);

  const form = el('form', { class: 'filters', id: 'filters' },
    el('label', {}, 'Status ', select({ name: 'status', id: 'f-status' },
      [['', 'any'], ['active', 'not completed'], ...STATUSES.map((s) => [s, s])], f.status)),
    el('label', {}, 'Service ', select({ name: 'service', id: 'f-service' },
      [['', 'any'], ...serviceNames.map((s) => [s, s])], f.service)),
    el('label', {}, 'Key ', el('input', { name: 'key', id: 'f-key', value: f.key, placeholder: 'any', size: 14 })),
    el('label', {}, 'Age ', select({ name: 'age', id: 'f-age' }, AGES, f.age)),
    el('button', { type: 'submit', id: 'f-apply' }, 'Apply'),
    el('button', { type: 'button', class: 'link', onclick: () => { location.hash = route(['invocations']); } }, 'Clear'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = new FormData(form);
    const next = route(['invocations'], { ...Object.fromEntries(['status', 'service', 'key', 'age'].map((k) => [k, String(d.get(k) || '').trim()])), limit: f.limit });
    if (location.hash === next) render(); else location.hash = next;
  });
  for (const s of form.querySelectorAll('select')) s.addEventListener('change', () => form.requestSubmit());

  const table = el('table', { class: 'grid', id: 'invocations' },
    el('thead', {}, el('tr', {}, ['Invocation', 'Target', 'Status', 'Created', 'Modified', 'Attempts', 'Result or last failure'].map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((r) => el('tr', { 'data-id': r.id, 'data-status': r.status, 'data-target': r.target },
      el('td', { class: 'mono' }, link(['invocations', r.id], null, r.id)),
      el('td', {}, r.target),
      el('td', {}, statusBadge(r.status)),
      el('td', {}, timeCell(r.created_at)),
      el('td', {}, timeCell(r.modified_at)),
      el('td', { class: 'num' }, r.retry_count ?? ''),
      el('td', { class: 'clip', title: r.completion_failure || r.last_failure || null }, r.completion_result === 'failure' ? el('span', { class: 'bad' }, r.completion_failure || 'failure')
        : r.completion_result ? r.completion_result : (r.last_failure ? el('span', { class: 'bad' }, r.last_failure) : ''))))));

  return [
    el('div', { class: 'bar' }, el('h1', {}, 'Invocations'), el('span', { class: 'spacer' }),
      el('button', { type: 'button', id: 'refresh', onclick: render }, 'Refresh')),
    form,
    el('p', { class: 'muted', id: 'count' }, (f.before ? `${rows.length} older invocation${rows.length === 1 ? '' : 's'}`
      : older ? `The ${rows.length} newest invocations` : `${rows.length} invocation${rows.length === 1 ? '' : 's'}`) + (older ? ' that match; more follow.' : '.')),
    rows.length ? el('div', { class: 'scroll' }, table) : el('p', { class: 'empty' }, 'No invocation matches.'),
    (f.before || older) ? el('p', { class: 'pager' },
      f.before ? el('a', { href: route(['invocations'], pick(f, FILTERS)), id: 'newest' }, '« Newest') : null, ' ',
      older ? el('a', { href: older, id: 'older' }, 'Older »') : null) : null];
}

// One invocation -----------------------------------------------------------------------------

function operationsFor(status) {
  switch (status) {
    case 'completed': return ['purge'];
    case 'paused': return ['resume', 'cancel', 'kill'];
    case 'backing-off': return ['resume', 'pause', 'cancel', 'kill'];
    case 'running': case 'ready': return ['pause', 'cancel', 'kill'];
    case undefined: case null: case '': return [];
    default: return ['cancel', 'kill'];
  }
}

function actionsBar(inv) {
  const out = el('div', { class: 'result', id: 'op-result', 'aria-live': 'polite' });
  const confirmBox = el('div', { class: 'confirm', id: 'op-confirm', hidden: true });
  const run = async (op) => {
    confirmBox.hidden = true;
    out.replaceChildren(`${OPERATIONS[op].label}…`);
    try {
      const r = await request('PATCH', `invocations/${encodeURIComponent(inv.id)}/${op}`);
      out.replaceChildren(el('span', { class: 'good', 'data-op-done': op }, `${OPERATIONS[op].label}: done (${r.status}).`));
      if (op === 'purge') {
        location.hash = route(['invocations']);
        return;
      }
      setTimeout(render, 400); // the operation goes through the log; read the outcome after it
    } catch (err) {
      if (err instanceof AuthError) return loginPage(err.message);
      out.replaceChildren(errorBox(err));
    }
  };
  const buttons = operationsFor(inv.status).map((op) => el('button', {
    type: 'button', class: 'op op-' + op, 'data-op': op, onclick: () => {
      confirmBox.replaceChildren(
        el('p', {}, el('strong', {}, `${OPERATIONS[op].label} this invocation? `), OPERATIONS[op].help),
        el('button', { type: 'button', class: 'op op-' + op, 'data-confirm': op, onclick: () => run(op) }, `Yes, ${OPERATIONS[op].label.toLowerCase()} it`), ' ',
        el('button', { type: 'button', class: 'link', onclick: () => { confirmBox.hidden = true; } }, 'No'));
      confirmBox.hidden = false;
    },
  }, OPERATIONS[op].label));
  return el('div', { class: 'actions' }, el('div', { class: 'bar' }, buttons), confirmBox, out);
}

function field(name, value) {
  if (value === null || value === undefined || value === '') return null;
  return [el('dt', {}, name), el('dd', {}, value)];
}

function entryParts(t) {
  const m = /^(Command|Notification|Event): (.*)$/.exec(t || '');
  return m ? [m[1], m[2]] : ['', t || '?'];
}

// liteDetails reads what the timeline shows of an entry from sys_journal.entry_lite_json
// (restate-server's "lite" serde JSON of a journal entry, e.g. {"Command":{"Call":{…}}}): a
// call's callee, a sleep's wake-up time, a durable promise's name.
function liteDetails(lite) {
  let entry;
  try {
    entry = JSON.parse(lite || 'null');
  } catch {
    return {};
  }
  const [kind, body] = Object.entries((entry && entry.Command) || {})[0] || [];
  if (!body) return {};
  switch (kind) {
    case 'Call':
    case 'OneWayCall': {
      const [, t] = Object.entries(body.invocation_target || {})[0] || [];
      if (!t) return {};
      const target = t.key !== undefined && t.key !== null ? `${t.name}/${t.key}/${t.handler}` : `${t.name}/${t.handler}`;
      return { target, id: body.invocation_id };
    }
    case 'Sleep':
      return { wakeUpAt: new Date(body.wake_up_time).toISOString() };
    case 'GetPromise':
    case 'PeekPromise':
    case 'CompletePromise':
      return { promise: body.key };
  }
  return {};
}

function timeline(entries) {
  return el('ol', { class: 'timeline', id: 'timeline' }, entries.map((e) => {
    const [kind, what] = entryParts(e.entry_type);
    const details = [];
    const lite = liteDetails(e.entry_lite_json);
    if (lite.target) {
      details.push(el('span', {}, '→ ', lite.id ? link(['invocations', lite.id], null, lite.target) : lite.target));
    }
    if (lite.wakeUpAt) details.push(el('span', {}, 'wakes up at ', timeCell(lite.wakeUpAt)));
    if (lite.promise) details.push(el('span', {}, 'promise ', el('code', {}, lite.promise)));
    if (e.completed) details.push(el('span', { class: 'good' }, 'completed'));
    if (e.appended_at) details.push(el('span', { class: 'muted' }, timeCell(e.appended_at)));
    return el('li', { class: 'entry entry-' + kind.toLowerCase(), 'data-index': e.index, 'data-entry-type': e.entry_type, 'data-name': e.name ?? '' },
      el('span', { class: 'index' }, '#' + e.index),
      el('span', { class: 'kind' }, kind),
      el('span', { class: 'what' }, what),
      e.name ? el('code', { class: 'name' }, e.name) : null,
      details.length ? el('span', { class: 'details' }, details) : null);
  }));
}

async function invocationPage(id) {
  setNav('invocations');
  const [invs, journal] = await Promise.all([
    sql(`SELECT * FROM sys_invocation WHERE id = ${lit(id)}`),
    sql(`SELECT index, entry_type, name, completed, entry_lite_json, appended_at FROM sys_journal WHERE id = ${lit(id)} ORDER BY index`),
  ]);
  const back = link(['invocations'], null, '← Invocations');
  if (!invs.length) {
    return [back, el('h1', {}, 'Invocation ', el('code', {}, id)), el('p', { class: 'empty', id: 'missing' }, 'No such invocation (it may have been purged).')];
  }
  const inv = invs[0];
  const keyed = inv.target_service_key !== null && inv.target_service_key !== undefined;
  const facts = el('dl', { class: 'facts', id: 'facts' },
    field('Status', statusBadge(inv.status)),
    field('Target', inv.target),
    field('Service', link(['invocations'], { service: inv.target_service_name }, inv.target_service_name)),
    field('Type', inv.target_service_ty),
    keyed ? field('Key', link(['state'], { service: inv.target_service_name, key: inv.target_service_key }, inv.target_service_key)) : null,
    field('Handler', inv.target_handler_name),
    field('Invoked by', inv.invoked_by_id ? link(['invocations', inv.invoked_by_id], null, inv.invoked_by_target || inv.invoked_by_id) : inv.invoked_by),
    field('Idempotency key', inv.idempotency_key),
    field('Deployment', inv.pinned_deployment_id || inv.last_attempt_deployment_id),
    field('Created', timeCell(inv.created_at)),
    field('Modified', timeCell(inv.modified_at)),
    field('Scheduled for', timeCell(inv.scheduled_start_at)),
    field('Completed', timeCell(inv.completed_at)),
    field('Attempts', inv.retry_count),
    field('Next retry', timeCell(inv.next_retry_at)),
    field('Last failure', inv.last_failure ? el('pre', { class: 'bad', id: 'last-failure' }, inv.last_failure_error_code ? `[${inv.last_failure_error_code}] ` : '', inv.last_failure) : null),
    field('Result', inv.completion_result),
    field('Failure', inv.completion_failure ? el('pre', { class: 'bad', id: 'completion-failure' }, inv.completion_failure) : null));
  return [
    back,
    el('div', { class: 'bar' }, el('h1', {}, 'Invocation ', el('code', { id: 'invocation-id' }, inv.id)), el('span', { class: 'spacer' }),
      el('button', { type: 'button', id: 'refresh', onclick: render }, 'Refresh')),
    actionsBar(inv),
    facts,
    el('h2', {}, `Journal (${journal.length} entr${journal.length === 1 ? 'y' : 'ies'})`),
    journal.length ? timeline(journal) : el('p', { class: 'empty' }, 'No journal entries (not started yet, or purged).')];
}

// Services and deployments ------------------------------------------------------------------

async function servicesPage() {
  setNav('services');
  const [services, deps] = await Promise.all([servicesList(), request('GET', 'deployments')]);
  const deployments = (deps.json && deps.json.deployments) || [];
  const keyedTy = (ty) => ty === 'VirtualObject' || ty === 'Workflow';
  return [
    el('h1', {}, 'Services'),
    services.length ? el('table', { class: 'grid', id: 'services' },
      el('thead', {}, el('tr', {}, ['Service', 'Type', 'Revision', 'Public', 'Handlers', 'Deployment', ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, services.map((s) => el('tr', { 'data-service': s.name },
        el('td', {}, el('strong', {}, s.name)),
        el('td', {}, s.ty),
        el('td', { class: 'num' }, s.revision),
        el('td', {}, s.public ? 'yes' : 'no'),
        el('td', {}, (s.handlers || []).map((h) => el('code', { class: 'chip' }, h.name))),
        el('td', { class: 'mono' }, s.deployment_id),
        el('td', {}, link(['invocations'], { service: s.name }, 'invocations'), keyedTy(s.ty) ? [' · ', link(['state'], { service: s.name }, 'state')] : null)))))
      : el('p', { class: 'empty' }, 'No service registered yet: POST /deployments registers one.'),
    el('h2', {}, 'Deployments'),
    deployments.length ? el('table', { class: 'grid', id: 'deployments' },
      el('thead', {}, el('tr', {}, ['Deployment', 'Endpoint', 'Protocol', 'Created', 'Services'].map((h) => el('th', {}, h)))),
      el('tbody', {}, deployments.map((d) => el('tr', { 'data-deployment': d.id },
        el('td', { class: 'mono' }, d.id),
        el('td', {}, d.uri || d.arn || ''),
        el('td', {}, `${d.protocol_type || ''} ${d.http_version || ''} v${d.min_protocol_version}–v${d.max_protocol_version}`),
        el('td', {}, timeCell(d.created_at)),
        el('td', {}, (d.services || []).map((s) => el('code', { class: 'chip' }, `${s.name}@${s.revision}`)))))))
      : el('p', { class: 'empty' }, 'No deployment.')];
}

// State of Virtual Object and Workflow keys ------------------------------------------------------

function hexToText(hex) {
  return hex ? '0x' + hex : '';
}

async function statePage(params) {
  setNav('state');
  const service = params.get('service') || '';
  const key = params.get('key');
  const services = (await servicesList()).filter((s) => s.ty === 'VirtualObject' || s.ty === 'Workflow').map((s) => s.name);
  if (service && !services.includes(service)) services.push(service);
  const form = el('form', { class: 'filters', id: 'state-form' },
    el('label', {}, 'Service ', select({ name: 'service', id: 's-service' }, [['', 'choose…'], ...services.map((s) => [s, s])], service)),
    el('label', {}, 'Key ', el('input', { name: 'key', id: 's-key', value: key ?? '', placeholder: 'all keys', size: 20 })),
    el('button', { type: 'submit', id: 's-show' }, 'Show'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = new FormData(form);
    location.hash = route(['state'], { service: d.get('service'), key: String(d.get('key') || '') });
  });
  const head = [el('h1', {}, 'State'), form];
  if (!service) {
    return [head, el('p', { class: 'muted' }, 'Choose a Virtual Object or Workflow to see its keys.')];
  }
  if (key === null || key === '') {
    const keys = await sql(`SELECT service_key, COUNT(*) AS entries, SUM(value_length) AS bytes FROM state WHERE service_name = ${lit(service)} GROUP BY service_key ORDER BY service_key LIMIT 500`);
    return [head, el('h2', {}, `Keys of ${service} with state`),
      keys.length ? el('table', { class: 'grid', id: 'state-keys' },
        el('thead', {}, el('tr', {}, ['Key', 'Entries', 'Bytes'].map((h) => el('th', {}, h)))),
        el('tbody', {}, keys.map((k) => el('tr', { 'data-key': k.service_key },
          el('td', {}, link(['state'], { service, key: k.service_key }, k.service_key)),
          el('td', { class: 'num' }, k.entries),
          el('td', { class: 'num' }, k.bytes)))))
        : el('p', { class: 'empty' }, 'No key of this service has state.')];
  }
  const [entries, holder, inbox] = await Promise.all([
    sql(`SELECT key, value_utf8, value, value_length FROM state WHERE service_name = ${lit(service)} AND service_key = ${lit(key)} ORDER BY key`),
    sql(`SELECT invocation_id FROM sys_keyed_service_status WHERE service_name = ${lit(service)} AND service_key = ${lit(key)}`),
    sql(`SELECT id, sequence_number FROM sys_inbox WHERE service_name = ${lit(service)} AND service_key = ${lit(key)} ORDER BY sequence_number`),
  ]);
  return [head,
    el('h2', {}, 'State of ', el('code', {}, service), ' / ', el('code', { id: 'state-key' }, key)),
    el('p', {}, link(['invocations'], { service, key }, 'Invocations on this key'),
      holder.length ? [' · held by ', el('a', { id: 'state-holder', href: route(['invocations', holder[0].invocation_id]) }, holder[0].invocation_id)] : ' · not held by any invocation',
      inbox.length ? ` · ${inbox.length} waiting in its inbox` : ''),
    entries.length ? el('table', { class: 'grid', id: 'state' },
      el('thead', {}, el('tr', {}, ['Name', 'Value', 'Bytes'].map((h) => el('th', {}, h)))),
      el('tbody', {}, entries.map((e) => el('tr', { 'data-state-key': e.key },
        el('td', {}, el('code', {}, e.key)),
        el('td', {}, el('pre', { class: 'value' }, e.value_utf8 ?? hexToText(e.value))),
        el('td', { class: 'num' }, e.value_length)))))
      : el('p', { class: 'empty', id: 'no-state' }, 'This key has no state.'),
    inbox.length ? [el('h3', {}, 'Inbox'), el('ol', { class: 'inbox', id: 'state-inbox' }, inbox.map((i) => el('li', {}, link(['invocations', i.id], null, i.id))))] : null];
}

// ---- routing ------------------------------------------------------------------------------------

let generation = 0; // the newest render; an older one that finishes later shows nothing

// render shows the page the location's hash names; pages return the nodes to show.
async function render() {
  const mine = ++generation;
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query] = hash.split('?', 2);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || '');
  let nodes;
  try {
    switch (parts[0] || 'invocations') {
      case 'invocations': nodes = await (parts.length > 1 ? invocationPage(parts[1]) : invocationsPage(params)); break;
      case 'services': nodes = await servicesPage(); break;
      case 'state': nodes = await statePage(params); break;
      default: nodes = [el('p', { class: 'empty' }, 'No such page.')];
    }
  } catch (err) {
    if (mine !== generation) return;
    if (err instanceof AuthError) {
      loginPage(sessionStorage.getItem(TOKEN_KEY) ? err.message : '');
      return;
    }
    nodes = [el('h1', {}, 'Something went wrong'), errorBox(err)];
  }
  if (mine !== generation) return;
  show(nodes);
  document.body.dataset.rendered = String(mine);
}

// Auto-refresh reads the page again every AUTO_INTERVAL_MS, except while the user is in the
// middle of something on it (typing in a field, a confirmation open, the token prompt).
function userBusy() {
  const a = document.activeElement;
  if (a && a.closest('#main') && (a.tagName === 'INPUT' || a.tagName === 'SELECT')) return true;
  const c = document.getElementById('op-confirm');
  return (c && !c.hidden) || document.getElementById('login') !== null;
}

const auto = document.getElementById('auto-refresh');
auto.checked = sessionStorage.getItem(AUTO_KEY) === 'on';
auto.addEventListener('change', () => {
  sessionStorage.setItem(AUTO_KEY, auto.checked ? 'on' : 'off');
  if (auto.checked) render();
});
setInterval(() => {
  if (auto.checked && !document.hidden && !userBusy()) render();
}, AUTO_INTERVAL_MS);

document.getElementById('signout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  render();
});
window.addEventListener('hashchange', render);
render();
