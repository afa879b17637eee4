import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * Starts test/harness/fhir-server.mjs (medplum's FHIR router and validator, Node 22) as a child
 * process on a free port and waits until it listens. The mocha process stays on Node 20: every
 * FHIR check happens in the child, through HTTP, as a hospital's server would see our output.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');

export interface FhirServer {
  baseUrl: string;
  /** POST a resource or a Bundle; the status and the parsed answer. */
  post(pathname: string, body: unknown): Promise<{ status: number; body: any }>;
  get(pathAndQuery: string): Promise<{ status: number; body: any }>;
  /** The server's $validate: the error and fatal issues (an empty list: valid). */
  validate(resource: unknown): Promise<any[]>;
  stop(): Promise<void>;
}

export async function startFhirServer(timeoutMs = 60_000): Promise<FhirServer> {
  const child: ChildProcess = spawn(path.join(ROOT, 'scripts', 'node22.sh'), ['node', 'test/harness/fhir-server.mjs', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`the FHIR server did not listen within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = /listening (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the FHIR server exited (${code}) before it listened: ${stderr}`));
    });
  });
  const baseUrl = `http://127.0.0.1:${port}`;

  async function call(method: string, pathname: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${baseUrl}${pathname}`, {
      method,
      headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  return {
    baseUrl,
    post: (pathname, body) => call('POST', pathname, body),
    get: (pathAndQuery) => call('GET', pathAndQuery),
    async validate(resource) {
      const answer = await call('POST', '/$validate', resource);
      if (answer.body?.resourceType !== 'OperationOutcome') throw new Error(`$validate answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      return (answer.body.issue ?? []).filter((issue: any) => issue.severity === 'error' || issue.severity === 'fatal');
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
