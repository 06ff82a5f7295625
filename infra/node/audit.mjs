// `npm run audit`: no high or critical advisory in the production dependencies, except those listed with a reason
// in infra/node/audit-exceptions.json. Where the registry's advisory endpoint can't be reached, it says so and
// exits 0: the check is then not done, which the output states rather than passing silently.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const exceptions = JSON.parse(readFileSync(new URL('./audit-exceptions.json', import.meta.url), 'utf8'));
const res = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
let report;
try {
  report = JSON.parse(res.stdout);
} catch {
  report = undefined;
}
if (!report || report.error || !report.vulnerabilities) {
  const why = report?.message ?? report?.error?.summary ?? 'no report';
  console.log(`npm audit: NOT CHECKED — the registry's advisory endpoint did not answer (${why})`);
  process.exit(0);
}
const blocking = [];
for (const [name, v] of Object.entries(report.vulnerabilities)) {
  if (v.severity !== 'high' && v.severity !== 'critical') continue;
  if (exceptions[name]) console.log(`npm audit: ${name} (${v.severity}) excepted: ${exceptions[name]}`);
  else blocking.push(`${name} (${v.severity}, ${v.range})`);
}
const counts = report.metadata?.vulnerabilities ?? {};
console.log(`npm audit --omit=dev: ${JSON.stringify(counts)}`);
if (blocking.length) {
  console.log(`high/critical advisories without an exception: ${blocking.join(', ')}`);
  process.exit(1);
}
