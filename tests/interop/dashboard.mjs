// The dashboard in Debian's chromium through playwright-core (headless): every page, real
// content, proofs verified by the page, operator actions through the UI, a phone's viewport,
// an accessibility smoke check, screenshots. Run by dashboard.sh with the DASH_* variables.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set (run dashboard.sh)`);
  return process.env[k];
};
const URL = env('DASH_URL');
const SHOTS = env('DASH_SHOTS');
const { chromium } = await import(path.join(env('DASH_PW'), 'index.mjs'));

let checks = 0;
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  checks++;
}

const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'fwseal-chromium-'));
const browser = await chromium.launchPersistentContext(userData, {
  executablePath: env('DASH_CHROMIUM'),
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  // The server's certificate is issued by the deployment's CA, which this throwaway profile
  // does not trust; the API calls below pin that CA instead.
  ignoreHTTPSErrors: true,
  viewport: { width: 1280, height: 900 },
});
const errors = [];
const page = browser.pages()[0] || await browser.newPage();
page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
// The wrong token below is meant to be refused: its 401 is the only error the console may show.
page.on('console', (m) => {
  if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push(`console: ${m.text()}`);
});
page.on('request', (r) => {
  if (!r.url().startsWith(URL) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) {
    errors.push(`external fetch: ${r.url()}`);
  }
});

// The server's state, asked directly with a token (not through the page).
async function apiGet(p, token) {
  const res = await page.request.get(URL + p, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  check(res.ok(), `GET ${p} answered ${res.status()}`);
  return res.json();
}

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function heading(text) {
  await page.waitForSelector(`main h1:has-text("${text}")`, { timeout: 15000 });
}

try {
  // ---- public pages: releases for homeowners, no token ----
  await page.goto(`${URL}/#/releases`);
  await heading('Releases');
  const rows = await page.locator('main table tbody tr').allInnerTexts();
  check(rows.length === 3, `three releases listed, got ${rows.length}`);
  check(rows[0].includes('hub 2.0.0') && rows[2].includes('hub 1.0.0'), 'releases newest first');
  await page.click('main a:has-text("hub 1.1.0")');
  await heading('hub 1.1.0');
  const sec = await page.locator('section.security').innerText();
  check(sec.includes('CVE-2026-4242'), 'the security section lists the CVE');
  check(sec.includes('Pairing codes expire after ten minutes.'), 'security items from the Security heading');
  check(sec.includes('raises the security level from 1 to 2'), 'the security level change is explained');
  const news = await page.locator('section.notes').innerText();
  check(news.includes('Thermostat schedules survive a power cut.'), 'what is new lists the changes');
  check(!news.includes('CVE'), 'security items are not repeated as changes');
  await page.waitForSelector('#release-proof .pill', { timeout: 15000 });
  const rp = await page.locator('#release-proof').innerText();
  check(rp.includes('✓ verified'), `the release proof verifies in the page: ${rp}`);
  await shot('release');

  // ---- sign in as an admin ----
  await page.goto(`${URL}/#/`);
  await heading('Operator sign-in');
  await page.fill('#token', 'fwst_' + '0'.repeat(64));
  await page.click('main button[type=submit]');
  await page.waitForSelector('main .msg.error');
  check((await page.locator('main .msg.error').innerText()).includes('not accepted'), 'a wrong token is refused');
  await page.fill('#token', env('DASH_ADMIN'));
  await page.click('main button[type=submit]');
  await heading('Fleet overview');
  check((await page.locator('#session').innerText()).includes('alice'), 'signed in as alice');

  // ---- the overview ----
  const cards = await page.locator('main .cards').innerText();
  check(/Devices\s+3/.test(cards), `three devices: ${cards}`);
  check(/Verification failures \(24 h\)\s+1/.test(cards), 'one verification failure in the last day');
  check(/Update success \(48 h\)\s+33%/.test(cards), 'one install out of three attempts');
  const chart = await page.locator('figure.chart svg').getAttribute('aria-label');
  check(chart.includes('1 successful install and 2 failures or rollbacks'), `the chart's summary: ${chart}`);
  const versions = await page.locator('section[aria-labelledby=versions] table').innerText();
  check(versions.includes('unknown') && versions.includes('100%'), 'versions in the field');
  const rollouts = page.locator('section[aria-labelledby=rollouts] table');
  check((await rollouts.innerText()).includes('hub 1.1.0'), 'the rollout in progress');
  check((await rollouts.innerText()).includes('running'), 'the rollout is running');
  await shot('overview');

  // Pause the rollout through the UI.
  const rollout = env('DASH_ROLLOUT');
  await page.click(`button[aria-label^="Pause rollout ${rollout} "]`);
  await page.waitForSelector(`main .msg.ok:has-text("Rollout ${rollout} paused.")`);
  check((await rollouts.innerText()).includes('paused'), 'the page shows the rollout paused');
  check((await apiGet(`/api/v1/rollouts/${rollout}`, env('DASH_ADMIN'))).state === 'paused',
    'the server has the rollout paused');

  // ---- devices ----
  await page.click('nav a:has-text("Devices")');
  await heading('Devices');
  check((await page.locator('main table tbody tr').count()) === 3, 'three devices listed');

  // A device's history: every event's proof verified by the page.
  const d1 = env('DASH_D1');
  await page.goto(`${URL}/#/devices/${d1}`);
  await heading(`Device ${d1}`);
  await page.waitForFunction(() => {
    const ps = [...document.querySelectorAll('#history .proof')];
    return ps.length > 0 && ps.every((p) => p.querySelector('.pill'));
  }, null, { timeout: 15000 });
  const items = await page.locator('#history > li').evaluateAll((els) =>
    els.map((e) => ({ type: e.dataset.type, proof: e.querySelector('.proof').innerText })));
  check(items.map((i) => i.type).join(',') === 'provision,install', `d1's history: ${items.map((i) => i.type)}`);
  for (const i of items) check(i.proof.includes('✓ proof verified'), `proof of the ${i.type} event: ${i.proof}`);
  check((await page.locator('#history').innerText()).includes('Installed hub 1.1.0 (from 1.0.0).'),
    'the install event is described');
  await shot('device');

  // Quarantine d2 through the UI; its history gains the ledger's quarantine record.
  const d2 = env('DASH_D2');
  await page.goto(`${URL}/#/devices/${d2}`);
  await heading(`Device ${d2}`);
  check((await page.locator('#history').innerText()).includes('failed verification'), 'd2 refused an image');
  await page.fill('#q-reason', 'refused a verified image: checking its storage');
  await page.click('main button:has-text("Quarantine this device")');
  await page.waitForSelector(`main .msg.ok:has-text("Device ${d2} quarantined.")`);
  check((await page.locator('main h1').innerText()).includes('quarantined'), 'the page shows the quarantine');
  const dev = await apiGet(`/api/v1/dashboard/devices/${d2}`, env('DASH_ADMIN'));
  check(dev.device.status === 'quarantined', 'the server has the device quarantined');
  const q = dev.history.find((e) => e.type === 'quarantine');
  check(q && q.record.reason === 'refused a verified image: checking its storage', 'the quarantine record');
  await shot('device-quarantined');

  // ---- alerts ----
  await page.click('nav a:has-text("Alerts")');
  await heading('Alerts');
  const alertsText = await page.locator('main table').innerText();
  check(alertsText.includes('update-size') && alertsText.includes('release hub/2.0.0'), 'the update size alert');
  check(alertsText.includes('rollback-spike'), 'the rollback spike alert');
  check(alertsText.includes('certificate-expiry'), 'the certificate expiry alert');
  check(!(await page.locator('#alert-badge').isHidden()), 'the badge counts open alerts');
  await shot('alerts');
  const sizeRow = page.locator('main table tbody tr', { hasText: 'update-size' });
  const id = (await sizeRow.locator('th').innerText()).replace('#', '');
  await sizeRow.locator('button:has-text("Acknowledge")').click();
  await page.waitForSelector(`main .msg.ok:has-text("Alert ${id} acknowledged.")`);
  const all = await apiGet('/api/v1/alerts?state=all', env('DASH_ADMIN'));
  check(all.alerts.find((a) => String(a.id) === id).acknowledged, 'the server has the alert acknowledged');
  check(!(await page.locator('main table').innerText()).includes('update-size'), 'the open list dropped it');

  // ---- keyboard and accessibility smoke check ----
  await page.goto(`${URL}/#/`);
  await page.reload(); // a fresh load: focus starts at the top of the document
  await heading('Fleet overview');
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.classList.contains('skip')), 'the skip link comes first');
  await page.keyboard.press('Enter');
  check(await page.evaluate(() => document.activeElement.id === 'main' && location.hash === '#/'),
    'the skip link moves to the content and keeps the page');
  await page.goto(`${URL}/#/`);
  await page.reload(); // a fresh load: focus starts at the top of the document
  await heading('Fleet overview');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const focus = await page.evaluate(() => {
    const el = document.activeElement;
    const s = getComputedStyle(el);
    return { text: el.textContent.trim(), outline: s.outlineStyle, width: parseFloat(s.outlineWidth) };
  });
  check(focus.text === 'Overview' && focus.outline !== 'none' && focus.width >= 2,
    `keyboard focus is visible on the navigation: ${JSON.stringify(focus)}`);
  for (const [route, title] of [['#/', 'Fleet overview'], [`#/devices/${d2}`, 'Device'], ['#/alerts', 'Alerts'],
    ['#/releases/hub/1.1.0', 'hub 1.1.0']]) {
    await page.goto(`${URL}/${route}`);
    await heading(title);
    const problems = await page.evaluate(() => {
      const out = [];
      const one = (sel, what) => { if (document.querySelectorAll(sel).length !== 1) out.push(`${what}: not exactly one`); };
      one('header', 'banner landmark');
      one('main', 'main landmark');
      one('footer', 'contentinfo landmark');
      if (!document.querySelector('nav[aria-label]')) out.push('navigation has no label');
      if (document.querySelectorAll('main h1').length !== 1) out.push('not exactly one h1');
      if (!document.documentElement.lang) out.push('no lang');
      for (const el of document.querySelectorAll('input, select, textarea')) {
        const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`)) || el.getAttribute('aria-label');
        if (!labelled) out.push(`unlabelled ${el.tagName} ${el.id}`);
      }
      for (const el of document.querySelectorAll('button, a[href]')) {
        const name = (el.getAttribute('aria-label') || el.textContent).trim();
        if (!name) out.push(`${el.tagName} without a name`);
      }
      for (const el of document.querySelectorAll('svg[role=img]')) if (!el.getAttribute('aria-label')) out.push('svg without a label');
      // Contrast of every piece of text against the background behind it (WCAG 2 formula).
      const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
        .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
      const bg = (el) => {
        for (let e = el; e; e = e.parentElement) {
          const c = rgb(getComputedStyle(e).backgroundColor);
          if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
        }
        return [255, 255, 255];
      };
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!n.textContent.trim() || !el.offsetParent || el.closest('.visually-hidden, svg')) continue;
        const s = getComputedStyle(el);
        const l1 = lum(rgb(s.color)), l2 = lum(bg(el));
        const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
        const large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.66 && Number(s.fontWeight) >= 700);
        if (ratio < (large ? 3 : 4.5)) out.push(`contrast ${ratio.toFixed(2)} for "${n.textContent.trim().slice(0, 30)}"`);
      }
      return out;
    });
    check(problems.length === 0, `accessibility on ${route}: ${problems.join('; ')}`);
  }

  // ---- a phone ----
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [route, title, name] of [['#/', 'Fleet overview', 'phone-overview'], [`#/devices/${d1}`, 'Device', 'phone-device'],
    ['#/releases/hub/1.1.0', 'hub 1.1.0', 'phone-release'], ['#/alerts', 'Alerts', 'phone-alerts']]) {
    await page.goto(`${URL}/${route}`);
    await heading(title);
    await page.waitForTimeout(200);
    const fit = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth,
      nav: document.querySelector('nav').getBoundingClientRect().right }));
    check(fit.doc <= fit.view && fit.nav <= fit.view, `${route} fits a phone: ${JSON.stringify(fit)}`);
    await shot(name);
  }
  const tap = await page.evaluate(() => [...document.querySelectorAll('nav a, main button')]
    .map((e) => e.getBoundingClientRect()).filter((r) => r.width > 0).every((r) => r.height >= 40));
  check(tap, 'buttons and navigation links are big enough to tap');

  // ---- an auditor reads but gets no operator buttons ----
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.click('#session button:has-text("Sign out")');
  await heading('Releases');
  await page.goto(`${URL}/#/signin`);
  await page.fill('#token', env('DASH_AUDITOR'));
  await page.click('main button[type=submit]');
  await heading('Fleet overview');
  check((await page.locator('section[aria-labelledby=rollouts] button').count()) === 0, 'no pause button for an auditor');
  await page.goto(`${URL}/#/devices/${d1}`);
  await heading('Device');
  check((await page.locator('#q-reason').count()) === 0, 'no quarantine form for an auditor');

  check(errors.length === 0, `no page errors: ${errors.join('; ')}`);
  console.log(`dashboard: ${checks} browser checks passed`);
} finally {
  await browser.close();
  fs.rmSync(userData, { recursive: true, force: true });
}
