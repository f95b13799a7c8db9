// Every device, with filters by state and model; each links to its history.
import { get } from '../api.js';
import { h, table, statusPill, timeEl } from '../dom.js';
import { setTitle } from '../ui.js';

const STATES = ['', 'provisioned', 'active', 'quarantined', 'revoked', 'decommissioned'];

export async function devicesView(main) {
  setTitle('Devices');
  const q = new URLSearchParams(location.hash.split('?')[1] || '');
  const status = q.get('status') || '';
  const model = q.get('model') || '';
  const params = new URLSearchParams({ limit: '200' });
  if (status) params.set('status', status);
  if (model) params.set('model', model);
  const r = await get(`/api/v1/dashboard/devices?${params}`);
  const sel = h('select', { id: 'f-status', name: 'status' },
    STATES.map((s) => h('option', { value: s, selected: s === status }, s || 'any state')));
  const mod = h('input', { id: 'f-model', name: 'model', type: 'text', value: model, autocomplete: 'off' });
  const form = h('form', {
    class: 'inline', role: 'search', 'aria-label': 'Filter devices',
    onsubmit: (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams();
      if (sel.value) p.set('status', sel.value);
      if (mod.value.trim()) p.set('model', mod.value.trim());
      location.hash = `#/devices${p.toString() ? `?${p}` : ''}`;
    },
  },
  h('div', { class: 'field' }, h('label', { for: 'f-status' }, 'State'), sel),
  h('div', { class: 'field' }, h('label', { for: 'f-model' }, 'Model'), mod),
  h('button', { type: 'submit' }, 'Filter'));
  main.append(h('h1', {}, 'Devices'), form,
    h('p', {}, `${r.matching} device${r.matching === 1 ? '' : 's'} match.` +
      (r.devices.length < r.matching ? ` Showing the first ${r.devices.length}.` : '')));
  if (r.devices.length === 0) return;
  main.append(table('Devices', ['Device', 'Model', 'State', 'Version', 'Attestation', 'Last seen'],
    r.devices.map((d) => [
      h('a', { href: `#/devices/${encodeURIComponent(d.id)}`, class: 'mono' }, d.id),
      d.model, statusPill(d.status), d.version || 'unknown', statusPill(d.attestation), timeEl(d.lastSeen)]),
    { rowHeaders: true }));
}
