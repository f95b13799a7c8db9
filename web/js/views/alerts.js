// Alerts: open ones first, acknowledging, and the rules that raise them.
import { get, post } from '../api.js';
import { h, table, timeEl, pill } from '../dom.js';
import { can, act, setTitle } from '../ui.js';

const DAY = 86400;
function duration(s) {
  if (s % DAY === 0) return `${s / DAY} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

function ackButton(a) {
  if (a.acknowledged) return h('span', {}, pill('acknowledged', 'ok'), ' ', timeEl(a.ackedAt));
  if (!can.ack()) return pill('open', 'bad');
  const status = h('div', { 'aria-live': 'polite' });
  return h('div', {}, h('button', {
    type: 'button', class: 'secondary', 'aria-label': `Acknowledge alert ${a.id}: ${a.kind} for ${a.subject}`,
    onclick: (ev) => act(ev.currentTarget, status, () => post(`/api/v1/alerts/${a.id}/ack`), `Alert ${a.id} acknowledged.`),
  }, 'Acknowledge'), status);
}

export async function alertsView(main) {
  setTitle('Alerts');
  const q = new URLSearchParams(location.hash.split('?')[1] || '');
  const state = q.get('state') === 'all' ? 'all' : 'open';
  const [r, cfg] = await Promise.all([get(`/api/v1/alerts?state=${state}&limit=500`), get('/api/v1/alerts/config')]);
  main.append(h('h1', {}, 'Alerts'),
    h('p', {}, state === 'open'
      ? ['Showing open alerts. ', h('a', { href: '#/alerts?state=all' }, 'Show all, acknowledged too')]
      : ['Showing every alert. ', h('a', { href: '#/alerts' }, 'Show open alerts only')]));
  if (r.alerts.length === 0) main.append(h('p', {}, state === 'open' ? 'No open alert.' : 'No alert yet.'));
  else {
    main.append(table(state === 'open' ? 'Open alerts, newest first' : 'Alerts, newest first',
      ['Alert', 'Kind', 'About', 'What happened', 'Raised', 'State'],
      r.alerts.map((a) => [`#${a.id}`, a.kind, a.subject, a.message, timeEl(a.raisedAt), ackButton(a)]), { rowHeaders: true }));
  }
  const rules = cfg.rules;
  const on = (x) => (x.enabled ? 'on' : 'off');
  const usual = (x) => (x.factor > 0 ? `and ${x.factor}× the usual` : 'whatever the usual');
  main.append(h('section', { 'aria-labelledby': 'rules' }, h('h2', { id: 'rules' }, 'Rules'),
    h('p', {}, `Checked every ${duration(cfg.interval)}, and at once when the ledger grows. Delivered to `,
      cfg.webhook ? 'a webhook' : 'no webhook', ' and ', cfg.command.length ? `the command ${cfg.command[0]}` : 'no command', '.'),
    h('ul', {},
      h('li', {}, `Certificate expiry (${on(rules.certificateExpiry)}): ${duration(rules.certificateExpiry.warn)} ahead.`),
      h('li', {}, `Verification failure spikes (${on(rules.verificationFailures)}): ${rules.verificationFailures.threshold} or more in ${duration(rules.verificationFailures.window)} ${usual(rules.verificationFailures)}.`),
      h('li', {}, `Rollback spikes (${on(rules.rollbacks)}): ${rules.rollbacks.threshold} or more in ${duration(rules.rollbacks.window)} ${usual(rules.rollbacks)}.`),
      h('li', {}, `Update sizes (${on(rules.updateSize)}): ${rules.updateSize.factor}× off the median of the last ${rules.updateSize.history} releases.`),
      h('li', {}, `Unexpected reboots (${on(rules.unexpectedReboots)}): ${rules.unexpectedReboots.threshold} in ${duration(rules.unexpectedReboots.window)}.`),
      h('li', {}, `Ledger forks seen by the monitor (${on(rules.logFork)}).`),
      h('li', {}, `Failed attestations (${on(rules.attestation)}).`))));
}
