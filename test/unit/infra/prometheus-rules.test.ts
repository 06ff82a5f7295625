import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../../infra/config.ts';
import { ALERT_RULES_FILE, prometheusConfig } from '../../../infra/stack/services/prometheus.ts';

/**
 * The alerting rules are checked and unit-tested by Prometheus's own tool (Debian's `prometheus` package ships
 * it; .ci/run installs it). No promtool is a failure that says so, not a skip: untested alerts are not shipped.
 */
const dir = fileURLToPath(new URL('../../../infra/prometheus/', import.meta.url));

const root = fileURLToPath(new URL('../../../', import.meta.url));

function promtool(...args: string[]) {
  return promtoolIn(dir, ...args);
}

function promtoolIn(cwd: string, ...args: string[]) {
  const res = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (res.error && (res.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('promtool is not installed: apt-get install prometheus (Debian ships promtool with it)');
  }
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

describe('infra/prometheus/alerts.yml', () => {
  it('passes promtool check rules', () => {
    const { status, output } = promtool('check', 'rules', 'alerts.yml');
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(status, output).toBe(0);
  });

  it('passes its promtool unit tests (alerts.test.yml)', () => {
    const { status, output } = promtool('test', 'rules', 'alerts.test.yml');
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });
});

describe('Prometheus loads the rules', () => {
  it("in the local stack: the generated config is valid, with every role's port labelled and the rules beside it", () => {
    const home = mkdtempSync(join(tmpdir(), 'ticklake-prom-'));
    try {
      const text = prometheusConfig(loadConfig({ env: {} }));
      writeFileSync(join(home, 'prometheus.yml'), text);
      copyFileSync(ALERT_RULES_FILE, join(home, 'alerts.yml'));
      const { status, output } = promtoolIn(home, 'check', 'config', 'prometheus.yml');
      expect(status, output).toBe(0);
      expect(output).toMatch(/SUCCESS: \d+ rules found/);
      const doc = parse(text) as { scrape_configs: { job_name: string; static_configs: unknown[] }[] };
      const app = doc.scrape_configs.find((c) => c.job_name === 'ticklake')!;
      expect(app.static_configs).toEqual([
        { targets: ['127.0.0.1:9464'], labels: { role: 'worker' } },
        { targets: ['127.0.0.1:9465'], labels: { role: 'process' } },
        { targets: ['127.0.0.1:9466'], labels: { role: 'sink' } },
        { targets: ['127.0.0.1:9467'], labels: { role: 'ingest' } },
        { targets: ['127.0.0.1:9468'], labels: { role: 'alerts' } },
        { targets: ['127.0.0.1:9469'], labels: { role: 'webhooks' } },
        { targets: ['127.0.0.1:9470'], labels: { role: 'dashboard' } },
      ]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('in docker-compose: the same file is mounted where its prometheus.yml looks, and every role is scraped', () => {
    const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as {
      services: Record<string, { volumes?: string[] }>;
    };
    const config = parse(readFileSync(`${root}infra/compose/prometheus.yml`, 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { labels?: { role: string } }[] }[];
    };
    expect(compose.services.prometheus!.volumes).toContain(`./infra/prometheus/alerts.yml:${config.rule_files[0]}:ro`);
    const roles = config.scrape_configs
      .find((c) => c.job_name === 'ticklake')!
      .static_configs.map((c) => c.labels?.role)
      .sort();
    expect(roles).toEqual(['alerts', 'dashboard', 'ingest', 'process', 'sink', 'worker']);
  });

  it('in docker-compose: Grafana mounts the dashboards where its provisioning reads them', () => {
    const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as {
      services: Record<string, { volumes?: string[] }>;
    };
    const provider = parse(
      readFileSync(`${root}infra/compose/grafana/provisioning/dashboards/ticklake.yml`, 'utf8'),
    ) as { providers: { options: { path: string } }[] };
    expect(compose.services.grafana!.volumes).toContain(
      `./infra/compose/grafana/dashboards:${provider.providers[0]!.options.path}:ro`,
    );
  });
});
