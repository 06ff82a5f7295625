import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../../core/config.ts';
import { METRICS_ROLES, metricsPortFor } from '../../metrics-server.ts';
import { httpOk } from '../health.ts';
import type { StackService } from '../service.ts';

/** The alerting rules (and their promtool tests) live beside the compose config's: one file for both. */
export const ALERT_RULES_FILE = fileURLToPath(new URL('../../prometheus/alerts.yml', import.meta.url));

/**
 * Scrape targets: Temporal's own metrics and every ticklake process's /metrics (one port per role, labelled with
 * its role, so `up == 0` says which process is down), and ticklake's alerting rules (copied beside the config).
 */
export function prometheusConfig(config: Config): string {
  const s = config.stack;
  const byPort = new Map<number, string[]>();
  for (const role of METRICS_ROLES) {
    const { port } = metricsPortFor(config, role);
    byPort.set(port, [...(byPort.get(port) ?? []), role]);
  }
  // One port for every role (metrics.port) cannot tell roles apart: the target then has no role label.
  const targets = [...byPort]
    .map(([port, roles]) => {
      const labels = roles.length === 1 ? `\n        labels: { role: ${roles[0]} }` : '';
      return `      - targets: ['127.0.0.1:${port}']${labels}`;
    })
    .join('\n');
  return `# Written by \`ticklake stack up\`; edits are overwritten.
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - alerts.yml
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:${s.prometheusPort}']
  - job_name: temporal
    static_configs:
      - targets: ['127.0.0.1:${s.temporalMetricsPort}']
  - job_name: ticklake
    static_configs:
${targets}
`;
}

function findBinary(): string | undefined {
  for (const candidate of ['prometheus', '/usr/bin/prometheus']) {
    const res = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (!res.error && res.status === 0) return candidate;
  }
  return undefined;
}

export const prometheusService: StackService = {
  name: 'prometheus',
  optional: true,
  ports: (c) => (c.stack.prometheus ? [c.stack.prometheusPort] : []),
  async provision(ctx) {
    if (!ctx.config.stack.prometheus) return 'disabled (TICKLAKE_STACK_PROMETHEUS=false)';
    if (!findBinary()) return 'optional, not installed: apt-get install prometheus (Debian) to get metrics dashboards';
    return undefined;
  },
  async prepare(ctx) {
    const s = ctx.config.stack;
    const home = join(s.stateDir, 'prometheus');
    mkdirSync(join(home, 'data'), { recursive: true });
    const file = join(home, 'prometheus.yml');
    writeFileSync(file, prometheusConfig(ctx.config));
    copyFileSync(ALERT_RULES_FILE, join(home, 'alerts.yml'));
    return {
      command: findBinary() ?? 'prometheus',
      args: [
        `--config.file=${file}`,
        `--storage.tsdb.path=${join(home, 'data')}`,
        '--storage.tsdb.retention.time=2d',
        `--web.listen-address=127.0.0.1:${s.prometheusPort}`,
        '--log.level=warn',
      ],
      cwd: home,
    };
  },
  healthy: (c) => httpOk(`http://127.0.0.1:${c.stack.prometheusPort}/-/ready`),
  urls: (c) => ({ prometheus: `http://127.0.0.1:${c.stack.prometheusPort}` }),
};
