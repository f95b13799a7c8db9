// Every release, newest first: public, for homeowners as much as for operators.
import { get } from '../api.js';
import { h, table, pill, whenText } from '../dom.js';
import { setTitle } from '../ui.js';

export function releaseState(r) {
  if (r.revoked) return pill('withdrawn', 'bad');
  if (r.quarantined) return pill('waiting (quarantine)', 'warn');
  return pill('available', 'ok');
}

export async function releasesView(main) {
  setTitle('Releases');
  const r = await get('/api/v1/dashboard/releases', { public: true });
  main.append(h('h1', {}, 'Releases'),
    h('p', {}, 'Every firmware release, as signed and recorded in the public ledger. Pick one to read what it changes.'));
  if (r.releases.length === 0) {
    main.append(h('p', {}, 'No release has been published yet.'));
    return;
  }
  main.append(table('Releases, newest first', ['Release', 'Published', { label: 'Security level', num: true }, 'State'],
    r.releases.map((x) => [
      h('a', { href: `#/releases/${encodeURIComponent(x.product)}/${encodeURIComponent(x.version)}` }, `${x.product} ${x.version}`),
      whenText(x.publishedAt), String(x.securityCounter), releaseState(x)]), { rowHeaders: true }));
}
