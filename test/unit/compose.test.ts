import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { pipelineStages } from '../../cli/pipeline.ts';
import { buildProgram } from '../../cli/program.ts';
import { configPaths, envNameFor } from '../../core/config.ts';
import { loadConfig } from '../../infra/config.ts';
import { searchAttributeFlags } from '../../workflows/constants.ts';

/**
 * No Docker engine runs here, so docker-compose.yml is kept honest by reading it: the platform's services are
 * all there with healthchecks, dependencies point at real services with real conditions, host ports don't
 * clash, and the app's containers use only settings and commands that exist.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
}

const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const appServices = Object.entries(services).filter(([, s]) => s.build !== undefined);

describe('docker-compose.yml', () => {
  it('runs the whole platform', () => {
    for (const name of [
      'kafka',
      'postgresql',
      'temporal',
      'temporal-init',
      'temporal-ui',
      'minio',
      'minio-init',
      'bigquery-emulator',
      'prometheus',
      'grafana',
    ]) {
      expect(services, name).toHaveProperty(name);
    }
    expect(appServices.length).toBeGreaterThan(0);
  });

  it('gives every long-running service a healthcheck', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.restart === 'no') continue; // one-shot init jobs
      expect(s.healthcheck?.test, `${name} healthcheck`).toBeDefined();
    }
  });

  it('has dependencies on existing services with valid conditions', () => {
    const conditions = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services, `${name} depends on ${dep}`).toHaveProperty(dep);
        expect(conditions.has(condition), `${name} -> ${dep}: ${condition}`).toBe(true);
        if (condition === 'service_healthy')
          expect(services[dep]!.healthcheck, `${dep} needs a healthcheck`).toBeDefined();
        if (condition === 'service_completed_successfully') expect(services[dep]!.restart).toBe('no');
      }
    }
  });

  it('publishes each host port once', () => {
    // `[host-ip:]host-port:container-port`: the host port is the second field from the end.
    const hostPorts = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':').at(-2)));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('configures the app only with settings the config schema declares, and they validate', () => {
    const known = new Set(configPaths().map(envNameFor));
    for (const [name, s] of appServices) {
      const env = s.environment ?? {};
      const names = Object.keys(env).filter((k) => k.startsWith('TICKLAKE_'));
      expect(names.length, name).toBeGreaterThan(0);
      for (const key of names) expect(known.has(key), `${name}: ${key} is not a ticklake setting`).toBe(true);
      // Interpolate ${VAR:-default} the way compose does with an empty environment, then validate.
      const resolved = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]),
      );
      expect(() => loadConfig({ env: resolved })).not.toThrow();
    }
  });

  it('points the app at the compose services on their container ports', () => {
    const [, app] = appServices[0]!;
    const env = app.environment!;
    expect(env.TICKLAKE_KAFKA_BROKERS).toBe('kafka:9092');
    expect(services.kafka!.environment!.KAFKA_ADVERTISED_LISTENERS).toContain('kafka:9092');
    expect(env.TICKLAKE_S3_ENDPOINT).toBe('http://minio:9000');
    expect(env.TICKLAKE_TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(env.TICKLAKE_BIGQUERY_API_ENDPOINT).toMatch(/^http:\/\/bigquery-emulator:9050$/);
    expect(env.TICKLAKE_METRICS_HOST).toBe('0.0.0.0');
    // The bucket the init job creates is the bucket the app writes to.
    expect(JSON.stringify(services['minio-init']!.entrypoint)).toContain(`lake/${env.TICKLAKE_S3_BUCKET}`);
  });

  it('runs app containers with commands the CLI has', () => {
    const commands = new Set(buildProgram().commands.map((c) => c.name()));
    for (const [name, s] of appServices) {
      const cmd = Array.isArray(s.command) ? s.command[0] : s.command?.split(' ')[0];
      expect(commands.has(cmd!), `${name}: ticklake ${cmd}`).toBe(true);
    }
    const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "bin\/ticklake\.mjs"\]/);
    // The image runs the Node major the project pins (.nvmrc), so a container behaves as the tested runtime.
    const major = readFileSync(`${root}.nvmrc`, 'utf8').trim().split('.')[0];
    expect(dockerfile).toMatch(new RegExp(`^FROM node:${major}-`, 'm'));
    expect(existsSync(`${root}infra/compose/prometheus.yml`)).toBe(true);
  });

  it('registers every search attribute the workflows set, before any app container starts', () => {
    const init = JSON.stringify(services['temporal-init']!.entrypoint);
    // `$${a%%=*}` in the file is compose's escape for the shell's `${a%%=*}`: the loop reads Name=Type pairs.
    for (const flag of searchAttributeFlags()) expect(init).toContain(flag);
    for (const [name, s] of appServices) {
      expect(s.depends_on?.['temporal-init']?.condition, name).toBe('service_completed_successfully');
    }
  });

  it('runs the same pipeline stages, with the same arguments, as the demo (cli/pipeline.ts)', () => {
    const byStage: Record<string, string> = {
      worker: 'worker',
      process: 'processor',
      sink: 'sink',
      alerts: 'alerts',
      dashboard: 'dashboard',
      ingest: 'ingest',
    };
    for (const stage of pipelineStages('compose-0')) {
      const service = services[byStage[stage.name]!];
      expect(service?.command, stage.name).toEqual(stage.args);
    }
    expect(appServices.map(([name]) => name).sort()).toEqual(Object.values(byStage).sort());
  });

  it('gives the dashboard its token when it binds beyond loopback, and publishes it on host loopback only', () => {
    const d = services.dashboard!;
    const config = loadConfig({
      env: Object.fromEntries(
        Object.entries(d.environment!).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]),
      ),
    });
    expect(config.dashboard.host).toBe('0.0.0.0');
    expect(config.dashboard.token).toBeDefined();
    expect(d.environment!.TICKLAKE_DASHBOARD_TOKEN).toMatch(/^\$\{DASHBOARD_TOKEN:-/);
    expect(d.ports).toEqual([`127.0.0.1:${config.dashboard.port}:${config.dashboard.port}`]);
  });

  it('keeps secrets out of the file: credentials come from the environment with local defaults only', () => {
    const text = readFileSync(`${root}docker-compose.yml`, 'utf8');
    for (const line of text.split('\n').filter((l) => /(PASSWORD|SECRET)[A-Z_]*:/.test(l))) {
      expect(line, line.trim()).toMatch(/\$\{[A-Z_]+:-[^}]*\}/);
    }
  });
});
