// The fleet at a glance: devices, versions in the field, updates over time, verification
// failures, attestation, rollouts in progress (with pause and resume), open alerts.
import { get, post } from '../api.js';
import { h, table, statusPill, timeEl, message } from '../dom.js';
import { updateChart } from '../chart.js';
import { can, act, setTitle } from '../ui.js';

function card(label, value, tone) {
  return h('div', { class: `card ${tone || ''}` }, h('p', { class: 'label' }, label), h('p', { class: 'value' }, value));
}

function pct(n, d) {
  return d === 0 ? '—' : `${Math.round((100 * n) / d)}%`;
}

function rolloutRow(r) {
  const status = h('div', { 'aria-live': 'polite' });
  let button = null;
  if (can.pause() && (r.state === 'running' || r.state === 'paused')) {
    const verb = r.state === 'running' ? 'pause' : 'resume';
    button = h('button', {
      type: 'button', class: r.state === 'running' ? 'danger' : '',
      'aria-label': `${verb === 'pause' ? 'Pause' : 'Resume'} rollout ${r.id} of ${r.product} ${r.version}`,
      onclick: (ev) => act(ev.currentTarget, status,
        () => post(`/api/v1/rollouts/${r.id}/${verb}`),
        `Rollout ${r.id} ${verb === 'pause' ? 'paused' : 'resumed'}.`),
    }, verb === 'pause' ? 'Pause' : 'Resume');
  }
  const done = r.succeeded + r.failed;
  return [
    `#${r.id}`,
    h('a', { href: `#/releases/${encodeURIComponent(r.product)}/${encodeURIComponent(r.version)}` }, `${r.product} ${r.version}`),
    statusPill(r.state),
    `${r.stage + 1} of ${r.stages} (${r.stageList[r.stage] ? r.stageList[r.stage].percent : '?'}%)`,
    `${r.assigned}`,
    `${r.succeeded} ok, ${r.failed} failed (${pct(r.succeeded, done)})`,
    h('div', {}, button, status),
  ];
}

export async function overviewView(main) {
  setTitle('Fleet overview');
  const o = await get('/api/v1/dashboard/overview?hours=48');
  const d = o.devices;
  const t = o.events.totals;
  const installs = o.events.hours.reduce((a, b) => a + b.installs, 0);
  const bad = o.events.hours.reduce((a, b) => a + b.failures + b.rollbacks, 0);
  main.append(h('h1', {}, 'Fleet overview'),
    h('p', { class: 'muted' }, 'As of ', timeEl(o.time), '. Ledger: ', `${o.events.ledger.size} entries.`));

  main.append(h('section', { 'aria-labelledby': 'glance' },
    h('h2', { id: 'glance', class: 'visually-hidden' }, 'At a glance'),
    h('div', { class: 'cards' },
      card('Devices', String(d.total)),
      card('Seen in the last day', String(d.seenLastDay)),
      card('Update success (48 h)', pct(installs, installs + bad), installs > 0 && bad === 0 ? 'ok' : ''),
      card('Verification failures (24 h)', String(o.verificationFailuresLastDay), o.verificationFailuresLastDay > 0 ? 'bad' : ''),
      card('Failed attestations', String(d.attestation.fail || 0), d.attestation.fail > 0 ? 'bad' : ''),
      card('Open alerts', String(o.alerts.open), o.alerts.open > 0 ? 'bad' : ''))));

  main.append(h('section', { 'aria-labelledby': 'updates' },
    h('h2', { id: 'updates' }, 'Updates over time'),
    updateChart(o.events.hours),
    h('p', { class: 'muted' }, `Since this server started reading the ledger: ${t.installs} installs, ${t.failures} verification failures, ${t.rollbacks} rollbacks, ${t.quarantines} quarantines.`)));

  main.append(h('section', { 'aria-labelledby': 'versions' },
    h('h2', { id: 'versions' }, 'Versions in the field'),
    d.versions.length === 0 ? h('p', {}, 'No devices yet.')
      : table('Devices by installed version', ['Version', { label: 'Devices', num: true }, { label: 'Share', num: true }],
        d.versions.map((v) => [v.version, v.devices, pct(v.devices, d.total)]), { rowHeaders: true })));

  main.append(h('section', { 'aria-labelledby': 'rollouts' },
    h('h2', { id: 'rollouts' }, 'Rollouts in progress'),
    o.rollouts.length === 0 ? h('p', {}, 'No rollout is pending, running or paused.')
      : table('Rollouts in progress', ['Rollout', 'Release', 'State', 'Stage', { label: 'Assigned', num: true }, 'Outcomes', 'Action'],
        o.rollouts.map(rolloutRow), { rowHeaders: true })));

  const a = d.attestation;
  main.append(h('section', { 'aria-labelledby': 'health' },
    h('h2', { id: 'health' }, 'Device state and attestation'),
    table('Devices by state', ['State', { label: 'Devices', num: true }],
      Object.entries(d.status).map(([k, v]) => [statusPill(k), v])),
    h('p', {}),
    table('Attestation', ['Last attestation', { label: 'Devices', num: true }],
      [[statusPill('pass'), a.pass || 0], [statusPill('fail'), a.fail || 0], [h('span', {}, 'never attested'), a.none || 0]])));

  if (o.alerts.latest.length > 0) {
    main.append(h('section', { 'aria-labelledby': 'latest' },
      h('h2', { id: 'latest' }, 'Latest open alerts'),
      h('ul', {}, o.alerts.latest.map((x) => h('li', {}, h('strong', {}, x.kind), ` — ${x.subject}: ${x.message}`))),
      h('p', {}, h('a', { href: '#/alerts' }, 'All alerts'))));
  }
  if (d.truncated) main.append(message('warn', 'The fleet is large: the counts above cover the first 200,000 devices.'));
}
