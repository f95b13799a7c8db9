// A release for people: what it changes, what it fixes for security, whether it can be
// installed, and the proof that it is the release recorded in the public ledger.
import { get } from '../api.js';
import { h, bytes, whenText, message, clear } from '../dom.js';
import { splitNotes } from '../notes.js';
import { verifyProof } from '../tlog.js';
import { setTitle } from '../ui.js';
import { releaseState } from './releases.js';

function securityLevel(r) {
  const prev = r.previous;
  if (!prev) return `This is the first release of ${r.product}. Its security level is ${r.securityCounter}.`;
  if (r.securityCounter > prev.securityCounter) {
    return `This update raises the security level from ${prev.securityCounter} to ${r.securityCounter}. ` +
      'Once a device installs it, the device refuses the older versions, so a fixed weakness cannot be brought back.';
  }
  return `The security level stays at ${r.securityCounter}: you may still go back to ${prev.version} if you need to.`;
}

export async function releaseView(main, [product, version]) {
  setTitle(`${product} ${version}`);
  const [r, log] = await Promise.all([
    get(`/api/v1/dashboard/releases/${encodeURIComponent(product)}/${encodeURIComponent(version)}`, { public: true }),
    get('/api/v1/dashboard/log', { public: true }),
  ]);
  const notes = splitNotes(r.changelog);
  main.append(h('p', {}, h('a', { href: '#/releases' }, '← All releases')),
    h('h1', {}, `${r.product} ${r.version} `, releaseState(r)),
    h('p', { class: 'muted' }, `Published ${whenText(r.publishedAt)} for ${r.hardware.join(', ')}` +
      `${r.regions && r.regions.length ? ` in ${r.regions.join(', ')}` : ''}.`));
  if (r.revoked) {
    main.append(message('error', `This release was withdrawn${r.revoked.reason ? `: ${r.revoked.reason}` : ''}. Devices will not install it.`));
  }

  main.append(h('section', { 'aria-labelledby': 'sec', class: 'security' },
    h('h2', { id: 'sec' }, 'Security'),
    notes.security.length ? h('ul', {}, notes.security.map((s) => h('li', {}, s)))
      : h('p', {}, 'This release lists no security fix.'),
    h('p', {}, securityLevel(r))));

  main.append(h('section', { 'aria-labelledby': 'new', class: 'notes' },
    h('h2', { id: 'new' }, 'What is new'),
    notes.changes.length ? h('ul', {}, notes.changes.map((s) => h('li', {}, s)))
      : h('p', {}, 'The maker wrote no notes for this release.')));

  const verify = h('p', { 'aria-live': 'polite', id: 'release-proof' }, 'Checking the ledger proof…');
  main.append(h('section', { 'aria-labelledby': 'proof' },
    h('h2', { id: 'proof' }, 'Is this the real release?'),
    h('p', {}, 'Your devices check every update before installing it. You can check this page too: ',
      'the release is recorded in a public, append-only ledger, and this page verifies the ledger\'s proof.'),
    verify,
    h('details', {}, h('summary', {}, 'Technical details'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Target'), h('dd', { class: 'mono' }, r.target),
        h('dt', {}, 'Size'), h('dd', {}, `${bytes(r.length)} (${r.length} bytes)`),
        h('dt', {}, 'SHA-256'), h('dd', { class: 'mono' }, r.sha256),
        h('dt', {}, 'Security counter'), h('dd', {}, String(r.securityCounter)),
        h('dt', {}, 'Provenance'), h('dd', { class: 'mono' }, r.provenance ? r.provenance.sha256 : 'none'),
        h('dt', {}, 'SBOM'), h('dd', { class: 'mono' }, r.sbom ? r.sbom.sha256 : 'none'),
        h('dt', {}, 'Ledger entry'), h('dd', {}, String(r.ledgerIndex)),
        h('dt', {}, 'Log key'), h('dd', { class: 'mono' }, log.vkey)),
      r.event && r.event.proof ? h('pre', {}, r.event.proof) : null)));
  if (!r.event || !r.event.proof) {
    clear(verify).append(h('span', { class: 'pill warn' }, 'pending'), ' The ledger has not signed a checkpoint covering this release yet.');
    return;
  }
  verifyProof(r.event.entry, r.event.proof, log.vkey).then((v) => {
    clear(verify).append(h('span', { class: 'pill ok' }, '✓ verified'),
      ` The release record is entry ${v.index} of the ledger ${v.origin} (${v.size} entries), and the ledger's signature checks out.`);
  }, (e) => {
    clear(verify).append(h('span', { class: 'pill bad' }, '✗ not verified'), ` ${e.message}`);
  });
}
