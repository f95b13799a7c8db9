// One device: what the server knows, the operator's quarantine, and its whole history from the
// ledger, each event checked here against the log's signed checkpoint with its tlog-proof.
import { get, post } from '../api.js';
import { h, table, statusPill, timeEl, whenText, message, clear } from '../dom.js';
import { verifyProof } from '../tlog.js';
import { can, act, setTitle } from '../ui.js';

function describe(rec) {
  if (!rec) return '';
  switch (rec.type) {
    case 'provision': return `Provisioned at ${rec.station || 'the factory'} (serial ${rec.serial}, model ${rec.model}, batch ${rec.batch}, ${rec.environment}).`;
    case 'install': return rec.result === 'success'
      ? `Installed ${rec.product} ${rec.toVersion} (from ${rec.fromVersion}).`
      : `Refused ${rec.product} ${rec.toVersion}: it failed verification (still on ${rec.fromVersion}).`;
    case 'rollback': return `Rolled back from ${rec.product} ${rec.toVersion} to ${rec.fromVersion}: ${rec.reason}`;
    case 'quarantine': return rec.action === 'begin' ? `Quarantined: ${rec.reason}` : `Released from quarantine: ${rec.reason}`;
    case 'decommission': return `Decommissioned: ${rec.reason}`;
    case 'revoke': return `Revoked: ${rec.reason}`;
    default: return `A ${rec.type} record.`;
  }
}

function download(name, text, label) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/octet-stream' }));
  return h('a', { href: url, download: name }, label);
}

function eventItem(ev, vkey) {
  const result = h('p', { class: 'proof', 'aria-live': 'polite' }, 'Checking the proof…');
  if (ev.proof === null) {
    clear(result).append(h('span', { class: 'pill warn' }, 'pending'), ' Recorded, not yet covered by a signed checkpoint: reload in a few seconds.');
  } else {
    verifyProof(ev.entry, ev.proof, vkey).then((r) => {
      clear(result).append(h('span', { class: 'pill ok' }, '✓ proof verified'),
        ` Entry ${r.index} is in the ledger of ${r.size} entries signed by ${r.origin}.`);
    }, (e) => {
      clear(result).append(h('span', { class: 'pill bad' }, '✗ proof failed'), ` ${e.message}`);
    });
  }
  const type = ev.type || 'record';
  return h('li', { 'data-index': ev.index, 'data-type': type },
    h('div', { class: 'event-head' }, h('strong', {}, type),
      h('time', { datetime: ev.time }, whenText(ev.time)), h('span', { class: 'muted' }, `ledger entry ${ev.index}`)),
    h('p', {}, describe(ev.record)),
    result,
    h('details', {}, h('summary', {}, `Record and proof of entry ${ev.index}`),
      h('pre', {}, ev.entry),
      ev.proof ? h('pre', {}, ev.proof) : null,
      h('p', { class: 'actions' },
        download(`entry-${ev.index}.json`, ev.entry, 'Download the record'),
        ev.proof ? download(`entry-${ev.index}.tlog-proof`, ev.proof, 'Download the proof') : null),
      h('p', { class: 'hint' }, 'Check offline: ', h('code', {},
        `fwseal log verify-proof --vkey log.vkey --proof entry-${ev.index}.tlog-proof entry-${ev.index}.json`))));
}

function quarantineForm(d) {
  const status = h('div', { 'aria-live': 'polite' });
  if (d.status === 'quarantined') {
    const b = h('button', {
      type: 'button',
      onclick: (ev) => act(ev.currentTarget, status, () => post(`/api/v1/devices/${encodeURIComponent(d.id)}/release`,
        { reason: 'released from the dashboard' }), `Device ${d.id} released from quarantine.`),
    }, 'Release from quarantine');
    return h('section', { 'aria-labelledby': 'ops' }, h('h2', { id: 'ops' }, 'Operator actions'), b, status);
  }
  if (!['provisioned', 'active'].includes(d.status)) return null;
  const reason = h('input', { id: 'q-reason', type: 'text', required: true, value: '', autocomplete: 'off' });
  const button = h('button', { type: 'submit', class: 'danger' }, 'Quarantine this device');
  const form = h('form', {
    class: 'inline',
    onsubmit: (ev) => {
      ev.preventDefault();
      act(button, status, () => post(`/api/v1/devices/${encodeURIComponent(d.id)}/quarantine`,
        { reason: reason.value.trim() || 'quarantined from the dashboard' }), `Device ${d.id} quarantined.`);
    },
  }, h('div', { class: 'field' }, h('label', { for: 'q-reason' }, 'Reason (recorded in the ledger)'), reason), button);
  return h('section', { 'aria-labelledby': 'ops' }, h('h2', { id: 'ops' }, 'Operator actions'),
    h('p', {}, 'A quarantined device is offered only recovery releases until it is released.'), form, status);
}

export async function deviceView(main, [id]) {
  setTitle(`Device ${id}`);
  const [r, log] = await Promise.all([
    get(`/api/v1/dashboard/devices/${encodeURIComponent(id)}`),
    get('/api/v1/dashboard/log', { public: true }),
  ]);
  const d = r.device;
  main.append(h('p', {}, h('a', { href: '#/devices' }, '← All devices')),
    h('h1', {}, 'Device ', h('span', { class: 'mono' }, id), ' ', d ? statusPill(d.status) : null));
  if (d) {
    main.append(h('dl', { class: 'facts' },
      h('dt', {}, 'Model'), h('dd', {}, d.model),
      h('dt', {}, 'Environment'), h('dd', {}, d.environment),
      h('dt', {}, 'Region and group'), h('dd', {}, `${d.region || 'any region'} · ${d.group || 'no group'}`),
      h('dt', {}, 'Installed version'), h('dd', {}, d.version || 'unknown', d.sha256 ? h('span', { class: 'mono muted' }, ` (sha256 ${d.sha256.slice(0, 16)}…)`) : null),
      h('dt', {}, 'Last attestation'), h('dd', {}, statusPill(d.attestation), ' ', d.attestedAt ? timeEl(d.attestedAt) : null),
      h('dt', {}, 'Last seen'), h('dd', {}, timeEl(d.lastSeen)),
      h('dt', {}, 'Last report'), h('dd', {}, timeEl(d.lastReport))));
    if (can.quarantine()) {
      const f = quarantineForm(d);
      if (f) main.append(f);
    }
  } else {
    main.append(message('info', 'This device is in the ledger but has not been registered with the update server yet.'));
  }
  main.append(h('section', { 'aria-labelledby': 'hist' },
    h('h2', { id: 'hist' }, 'History from the ledger'),
    h('p', { class: 'muted' }, 'Each event below is checked in your browser: the log key ',
      h('code', { class: 'mono' }, log.vkey), ' must sign the checkpoint, and the proof must place the record under its root.'),
    r.history.length === 0 ? h('p', {}, 'No ledger event names this device.')
      : h('ol', { class: 'timeline', id: 'history' }, r.history.map((ev) => eventItem(ev, log.vkey))),
    r.truncated ? message('warn', 'Only the first 512 events are shown.') : null));
  if (r.rollouts.length) {
    main.append(h('section', { 'aria-labelledby': 'rolls' }, h('h2', { id: 'rolls' }, 'Rollouts'),
      table('Rollouts this device is in', ['Rollout', 'Stage', 'Outcome', 'Assigned'],
        r.rollouts.map((m) => [`#${m.rollout}`, String(m.stage + 1), statusPill(m.outcome), timeEl(m.assignedAt)]), { rowHeaders: true })));
  }
  if (r.reports.length) {
    main.append(h('section', { 'aria-labelledby': 'reps' }, h('h2', { id: 'reps' }, 'Latest reports'),
      table('Reports received from this device', ['Report', 'Kind', 'Received', 'Ledger entry'],
        r.reports.map((x) => [`#${x.id}`, x.kind, timeEl(x.receivedAt), x.ledgerIndex >= 0 ? String(x.ledgerIndex) : 'pending']),
        { rowHeaders: true })));
  }
}
