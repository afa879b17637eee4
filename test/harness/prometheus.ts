import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from './http';
import { freePort } from './node-red';

/**
 * A real Prometheus server for the metrics tests (Debian's `prometheus` package, which brings
 * promtool too), and small helpers to read a metrics page.
 */

/** The system binaries the test runs; missing, the test fails saying how to install them (never skipped). */
export function requireBinary(name: string): void {
  const found = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (found.error) throw new Error(`${name} is not installed: apt-get install prometheus (it brings prometheus and promtool)`);
}

/** A Prometheus server scraping `target` every second, its data in a temporary directory. */
export class Prometheus {
  private constructor(private readonly child: ChildProcess, readonly url: string, private readonly dir: string, private log: string[]) {}

  static async start(target: string, metricsPath: string, scrapeKey: string): Promise<Prometheus> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-prometheus-'));
    const port = await freePort();
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: health-bridge',
      `    metrics_path: ${metricsPath}`,
      `    params: { key: ['${scrapeKey}'] }`,
      '    static_configs:',
      `      - targets: ['${target}']`,
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), `${config}\n`);
    const child = spawn('prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    const prometheus = new Prometheus(child, `http://127.0.0.1:${port}`, dir, log);
    await until(async () => (await request(`${prometheus.url}/-/ready`).catch(() => undefined))?.status === 200, 60_000, 'Prometheus ready');
    return prometheus;
  }

  /** The series an instant query returns, each as its labels and value. */
  async query(query: string): Promise<Array<{ metric: Record<string, string>; value: number }>> {
    const response = await request(`${this.url}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = response.json as { status: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    assert.equal(body.status, 'success', response.text);
    return (body.data?.result ?? []).map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
  }

  get output(): string {
    return this.log.join('');
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await exited;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A value of the page: the sample `name{labels…}` whose labels include all of `labels`. */
export function sample(page: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of page.split('\n')) {
    const match = /^([\w:]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const own = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => own[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/** promtool's verdict on a page: its output, empty when it has nothing to say, and its exit code. */
export function promtoolCheck(page: string): { output: string; status: number | null } {
  const checked = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8' });
  return { output: `${checked.stdout}${checked.stderr}`.trim(), status: checked.status };
}
