// The reference side of tests/interop/cyclonedx_validator.sh: @cyclonedx/cyclonedx-library's
// JsonStrictValidator for CycloneDX 1.6 (ajv, ajv-formats, ajv-formats-draft2019).
//
//   node cyclonedx_validator.mjs mutants OUTDIR FILE...   deterministic mutants of valid BOMs
//   node cyclonedx_validator.mjs formats TABLE OUTDIR     one BOM per row of formats.json
//   node cyclonedx_validator.mjs patterns TABLE           patterns.json against RegExp (u flag)
//   node cyclonedx_validator.mjs compare RESULTS          the reference's verdict on every file
//                                                         of RESULTS (fwseal's), the table, and
//                                                         exit 1 on any unexpected disagreement
import * as CDX from '@cyclonedx/cyclonedx-library';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6);

async function reference(path) {
  let errors;
  try {
    errors = await validator.validate(readFileSync(path, 'utf8'));
  } catch (e) {
    if (e instanceof CDX.Validation.MissingOptionalDependencyError) throw e;
    return { valid: false, why: `not JSON: ${e.message}` };
  }
  if (errors === null) return { valid: true, why: '' };
  const first = errors[0];
  return { valid: false, why: `${first.instancePath || '(root)'}: ${first.message} (${first.keyword})` };
}

// ---- mutants -----------------------------------------------------------------------------

// A small deterministic generator, so a failure can be reproduced from its file name.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function paths(v, at = []) {
  const out = [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push([...at, i], ...paths(x, [...at, i])));
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) out.push([...at, k], ...paths(x, [...at, k]));
  return out;
}

function parentOf(doc, path) {
  let p = doc;
  for (const k of path.slice(0, -1)) p = p[k];
  return p;
}

const REPLACEMENTS = ['x', '', 7, -1, 1.5, true, null, {}, []];

// Each mutation edits one place; none touches specVersion (fwseal accepts "1.6" only, which the
// 1.6 schema does not require: that case has its own vector in stricter/).
function mutate(doc, path, kind, pick) {
  const parent = parentOf(doc, path);
  const key = path[path.length - 1];
  switch (kind) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key, 1);
      else delete parent[key];
      return 'delete';
    case 'replace': {
      const r = REPLACEMENTS[Math.floor(pick() * REPLACEMENTS.length)];
      parent[key] = structuredClone(r);
      return `replace-${JSON.stringify(r)}`;
    }
    case 'suffix':
      if (typeof parent[key] !== 'string') return null;
      parent[key] += 'X';
      return 'suffix';
    case 'unknown':
      if (parent[key] === null || typeof parent[key] !== 'object' || Array.isArray(parent[key]))
        return null;
      parent[key].zzUnknown = 1;
      return 'unknown-member';
    case 'duplicate':
      if (!Array.isArray(parent[key]) || parent[key].length === 0) return null;
      parent[key].push(structuredClone(parent[key][0]));
      return 'duplicate-item';
  }
  return null;
}

function mutants(outdir, files) {
  const kinds = ['delete', 'replace', 'suffix', 'unknown', 'duplicate'];
  let n = 0;
  for (const file of files) {
    const original = JSON.parse(readFileSync(file, 'utf8'));
    const all = paths(original).filter((p) => p[0] !== 'specVersion');
    const pick = rng(all.length * 7919 + basename(file).length);
    for (let i = 0; i < 40 && all.length > 0; i++) {
      const doc = structuredClone(original);
      const path = all[Math.floor(pick() * all.length)];
      const what = mutate(doc, path, kinds[Math.floor(pick() * kinds.length)], pick);
      if (what === null) continue;
      const name = `${basename(file, '.json')}~${i}~${what}~${path.join('.')}`.replace(/[^\w.~+-]/g, '_');
      writeFileSync(join(outdir, `${name}.json`), JSON.stringify(doc));
      n++;
    }
  }
  console.log(`${n} mutants written`);
}

// ---- formats and patterns ----------------------------------------------------------------

// Puts a string where the 1.6 schema checks the given format (and nothing else restricts it).
function bomWith(format, value) {
  const bom = { bomFormat: 'CycloneDX', specVersion: '1.6' };
  switch (format) {
    case 'date-time': bom.metadata = { timestamp: value }; break;
    case 'idn-email': bom.metadata = { authors: [{ email: value }] }; break;
    case 'iri-reference': bom.components = [{ type: 'library', name: 'x', licenses: [{ license: { name: 'x', url: value } }] }]; break;
    case 'uri': bom.signature = { algorithm: value, value: 'AAAA' }; break;
    default: throw new Error(`no place for format ${format}`);
  }
  return bom;
}

function formats(table, outdir) {
  const rows = JSON.parse(readFileSync(table, 'utf8'));
  rows.forEach(([format, value, ref, fws], i) => {
    const name = `fmt${String(i).padStart(3, '0')}-${format}-ref${ref}-fwseal${fws}.json`;
    writeFileSync(join(outdir, name), JSON.stringify(bomWith(format, value)));
  });
  console.log(`${rows.length} format samples written`);
}

function patterns(table) {
  const rows = JSON.parse(readFileSync(table, 'utf8'));
  let bad = 0;
  for (const [pattern, input, want] of rows) {
    const got = new RegExp(pattern, 'u').test(input) ? 1 : 0;
    if (got !== want) {
      bad++;
      console.log(`MISMATCH /${pattern}/u on ${JSON.stringify(input)}: RegExp ${got}, table ${want}`);
    }
  }
  console.log(`patterns.json: ${rows.length} rows, ${bad} differ from RegExp`);
  return bad === 0;
}

// ---- comparison --------------------------------------------------------------------------

// What the reference and fwseal must say for a sample of each category.
function expected(category, file) {
  switch (category) {
    case 'good': return { ref: true, fws: true };
    case 'bad': return { ref: false, fws: false };
    case 'stricter': return { ref: true, fws: false };
    case 'format': {
      const m = /-ref(\d)-fwseal(\d)\.json$/.exec(file);
      return { ref: m[1] === '1', fws: m[2] === '1' };
    }
    case 'mutant': return null; // the two must agree
  }
  throw new Error(`unknown category ${category}`);
}

const yes = (b) => (b ? 'valid' : 'INVALID');

async function compare(results) {
  const lines = readFileSync(results, 'utf8').split('\n').filter(Boolean);
  const counts = {};
  let failures = 0;
  console.log('category  reference  fwseal   verdict   sample');
  for (const line of lines) {
    const [category, file, fwsRc, fwsWhy] = line.split('\t');
    const fws = fwsRc === '0';
    if (fwsRc !== '0' && fwsRc !== '1') {
      console.log(`${category}: fwseal failed to run on ${file} (exit ${fwsRc}): ${fwsWhy}`);
      failures++;
      continue;
    }
    const ref = await reference(file);
    const want = expected(category, file) ?? { ref: ref.valid, fws: ref.valid };
    const ok = ref.valid === want.ref && fws === want.fws;
    const verdict = !ok ? 'MISMATCH' : ref.valid === fws ? 'agree' : 'stricter';
    counts[`${category} ${verdict}`] = (counts[`${category} ${verdict}`] ?? 0) + 1;
    if (!ok) failures++;
    if (category !== 'mutant' && category !== 'format' || !ok) {
      console.log(`${category.padEnd(9)} ${yes(ref.valid).padEnd(10)} ${yes(fws).padEnd(8)} ${verdict.padEnd(9)} ${basename(file)}`);
      if (!ref.valid) console.log(`${' '.repeat(20)}reference: ${ref.why.slice(0, 150)}`);
      if (!fws) console.log(`${' '.repeat(20)}fwseal:    ${fwsWhy.slice(0, 150)}`);
    }
  }
  console.log('\nsummary:');
  for (const [k, v] of Object.entries(counts).sort()) console.log(`  ${k.padEnd(20)} ${v}`);
  const total = lines.length;
  console.log(`\n${total - failures} passed, ${failures} failed`);
  return failures === 0;
}

const [cmd, ...args] = process.argv.slice(2);
let ok = true;
if (cmd === 'mutants') mutants(args[0], args.slice(1));
else if (cmd === 'formats') formats(args[0], args[1]);
else if (cmd === 'patterns') ok = patterns(args[0]);
else if (cmd === 'compare') ok = await compare(args[0]);
else {
  console.error('usage: cyclonedx_validator.mjs mutants|formats|patterns|compare ...');
  ok = false;
}
process.exit(ok ? 0 : 1);
