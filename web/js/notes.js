// Release notes for people: the changelog a maker wrote, split into what changed and what it
// fixes for security. A line is a security item when it starts with "Security:" or "[security]",
// names a CVE, or sits under a "Security" heading; headings are lines ending in ":" or starting
// with "#".

const heading = (l) => /^#+\s*/.test(l) || (/:$/.test(l) && l.length < 60);
const headingName = (l) => l.replace(/^#+\s*/, '').replace(/:$/, '').trim();
const bullet = (l) => l.replace(/^[-*\u2022]\s+/, '').trim();

export function splitNotes(text) {
  const changes = [], security = [];
  let inSecurity = false;
  for (const raw of (text || '').split('\n')) {
    const l = raw.trim();
    if (!l) continue;
    if (heading(l)) {
      inSecurity = /security/i.test(headingName(l));
      continue;
    }
    const item = bullet(l);
    const m = /^(security:|\[security\])\s*/i.exec(item);
    if (m) security.push(item.slice(m[0].length));
    else if (inSecurity || /\bCVE-\d{4}-\d{4,}\b/.test(item)) security.push(item);
    else changes.push(item);
  }
  return { changes, security };
}
