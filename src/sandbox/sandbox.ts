import type { ServerResponse } from 'node:http';
import { pushJson, sendJson, startCloudServer, type CloudRequest, type CloudServer } from './cloud-server';
import { ExpeedCloud } from './expeed-cloud';
import { DEFAULT_SLOW_MS, checkDownWindows, parseDownWindows, scheduleOutage, type DownWindow, type Outage } from './hospital-faults';
import { createHospitalFhir, FHIR_BASE_PATH, type HospitalFhir } from './hospital-fhir';
import { DEFAULT_MLLP_PORT, startHospitalMllp, type HospitalMllp } from './hospital-mllp';
import type { Charset } from '../lib/formats/hl7v2';
import type { Vendor } from '../lib/vendors/manifest';
import { SANDBOX_VENDORS, trafficOf, type PlannedPush } from './traffic';
import { SANDBOX_DEVICES } from './traffic/expeed';
import { SAMPLE_VIATOM_PHONE } from './traffic/viatom';
import { createViatomCloud } from './viatom-cloud';

/**
 * The vendor sandbox: every cloud with traffic (traffic.ts) at once against a Node-RED the user
 * points it at. It pushes each vendor's traffic to that vendor's receiver path(s) and, as the Sinocare document says its
 * cloud does, pushes again on every answer that is not the vendor's success (a 4xx as well as a
 * 5xx or a 503 at ackTimeout, a 200 whose body has another code, no connection), at most
 * `maxRetries` times. It sends the exact duplicates and retries real clouds send, answers the
 * Viatom and Expeed APIs, and stands in for a hospital: an HTTP API that the example flows deliver
 * readings to, a FHIR R4 server (hospital-fhir.ts) and an HL7 v2 MLLP listener (hospital-mllp.ts).
 * It prints one line per push, without personal data.
 */

/** The sample credentials the emulated clouds accept. Not secrets: they only open the sandbox. */
export const SANDBOX_CREDENTIALS = {
  viatom: { secret: 'sandbox-viatom-secret', accessToken: 'sandbox-viatom-access-token' },
  expeed: { platformKey: 'sandbox-platform-key', secretKey: 'sandbox-secret-key', handshakeToken: 'sandbox-handshake-token' },
};

export { SANDBOX_DEVICES };

export const DEFAULT_SANDBOX_PORT = 1881;
/** Where the example flows deliver readings, as a hospital's API would take them. */
export const HOSPITAL_PATH = '/hospital/readings';
export { DEFAULT_MLLP_PORT, DEFAULT_SLOW_MS, FHIR_BASE_PATH, parseDownWindows, type DownWindow };

export interface SandboxOptions {
  /** Node-RED's base URL; each vendor pushes to `<nodeRedUrl>/<vendor>` unless `targets` says otherwise. */
  nodeRedUrl: string;
  /** Full receiver URLs per vendor (several: every push goes to each). */
  targets?: Partial<Record<Vendor, string[]>>;
  vendors?: readonly Vendor[];
  /** Port of the emulated APIs (Viatom, Expeed, the hospital) on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** Time between two pushes of one vendor. */
  intervalMs?: number;
  /** Stop after this many pushes per vendor (duplicates and retries not counted). */
  count?: number;
  /** Stop after this long. */
  durationMs?: number;
  /** Every n-th push of a vendor is sent twice, as the clouds do; 0 never. */
  duplicateEvery?: number;
  /**
   * Every n-th reading at each of the hospital's doors is refused once, to show ack: flow at work:
   * the HTTP API and the FHIR server answer 503, the MLLP listener AE; its retry is stored. 0 never.
   */
  hospitalFailEvery?: number;
  /** One answer in n of the FHIR server and of the MLLP listener comes `hospitalSlowMs` late (stored first); 0 never. */
  hospitalSlowEvery?: number;
  /** How late a slow answer is (default 3000 ms). */
  hospitalSlowMs?: number;
  /**
   * When the hospital is down for maintenance, in ms since the sandbox started (in order, not
   * overlapping; `parseDownWindows('30-90')` reads the CLI's seconds): the MLLP listener stops
   * listening (connections refused, open ones dropped), the FHIR server and the HTTP API answer
   * 503 (they share the port of the Viatom and Expeed APIs, which stay up); all back at `toMs`,
   * on the same ports. The log says when it goes down and comes back.
   */
  hospitalDown?: readonly DownWindow[];
  /**
   * Port of the hospital's MLLP listener on 127.0.0.1. Default 2575 (the HL7 port), or a free one
   * when 2575 is taken (the log says which); an explicit port is that port or an error; 0 a free one.
   */
  mllpPort?: number;
  /** Charset of an HL7 message whose MSH-18 names none (default utf-8). */
  mllpCharset?: Charset;
  /** Time between a failed push and its next retry. */
  retryDelayMs?: number;
  /** Retries of a push that was not acknowledged, after the first attempt (default 3). */
  maxRetries?: number;
  /** How long to wait for Node-RED before giving up. */
  waitForNodeRedMs?: number;
  log?: (line: string) => void;
}

export interface Delivery {
  push: PlannedPush;
  target: string;
  /** 0 for the push itself; n for the cloud's n-th retry after a failure. */
  attempt: number;
  /** A copy the cloud sent although the first one succeeded. */
  duplicate: boolean;
  /** HTTP status, or 0 when there was no answer. */
  status: number;
  /** The answer was the vendor's success: a 2xx with the vendor's success code. */
  acknowledged: boolean;
}

/** What the vendor's cloud counts as its receiver's success answer (its traffic's `isSuccess`). */
export function isAcknowledged(vendor: Vendor, status: number, text: string): boolean {
  if (status < 200 || status > 299) return false;
  const check = trafficOf(vendor)?.isSuccess;
  if (!check) return true;
  try {
    return check(JSON.parse(text));
  } catch {
    return false;
  }
}

export interface Sandbox {
  /** Base URL of the emulated APIs: the Viatom host, the Expeed apiBase, the hospital API. */
  apiUrl: string;
  readonly deliveries: Delivery[];
  /** Bodies the hospital API stored (and the ones it failed, not here). */
  readonly hospitalReceived: unknown[];
  /** The hospital's FHIR R4 base URL: `<apiUrl>/fhir`. */
  fhirUrl: string;
  /** The FHIR server: `stored`, `counts()`, `search()`. */
  readonly hospitalFhir: HospitalFhir;
  /** The MLLP listener: `port`, `messages` (accepted or not), `accepted()`. */
  readonly hospitalMllp: HospitalMllp;
  mllpPort: number;
  readonly expeed: ExpeedCloud;
  /** Resolves when every vendor has sent `count` pushes or `durationMs` ran out. */
  finished: Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const clock = (): string => new Date().toTimeString().slice(0, 8);

async function waitForServer(url: string, timeoutMs: number, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  for (;;) {
    try {
      await fetch(new URL('/', url));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`Node-RED did not answer at ${url}: ${(error as Error).message}`);
      if (!said) log(`${clock()}  waiting for Node-RED at ${new URL('/', url).href} …`);
      said = true;
      await sleep(500);
    }
  }
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const log = options.log ?? ((line: string) => console.log(line));
  const vendors = options.vendors ?? SANDBOX_VENDORS;
  const base = options.nodeRedUrl.replace(/\/+$/, '');
  const targets = (vendor: Vendor): string[] => options.targets?.[vendor] ?? [`${base}/${vendor}`];
  const intervalMs = options.intervalMs ?? 3000;
  const duplicateEvery = options.duplicateEvery ?? 6;
  const hospitalFailEvery = options.hospitalFailEvery ?? 0;
  const retryDelayMs = options.retryDelayMs ?? 2000;
  const maxRetries = options.maxRetries ?? 3;
  const hospitalDown = options.hospitalDown ?? [];
  checkDownWindows(hospitalDown);

  const viatom = createViatomCloud({ ...SANDBOX_CREDENTIALS.viatom, callbackUrl: targets('viatom')[0], authorizedPhones: [SAMPLE_VIATOM_PHONE] });
  const expeed = new ExpeedCloud({ ...SANDBOX_CREDENTIALS.expeed, devices: [...SANDBOX_DEVICES], seriesEnd: Date.now() });
  const hospitalReceived: unknown[] = [];
  // Every n-th reading is refused the first time it arrives and stored when it comes again: an
  // outage that the vendor's retry always outlives. Counting calls instead would let a retry fall
  // on the next n-th call as well, now and then, depending on how the traffic interleaves.
  let hospitalReadings = 0;
  const refusedOnce = new Set<string>();
  // the hospital's maintenance (hospitalDown), once its listeners are up: seconds until it is back, 0 while up
  let outage: Outage | undefined;
  let startedAt = 0;
  const downFor = (): number => (outage?.window ? Math.max(1, (outage.window.toMs - (Date.now() - startedAt)) / 1000) : 0);
  const hospital = (request: CloudRequest, res: ServerResponse): boolean => {
    if (request.url.pathname !== HOSPITAL_PATH || request.method !== 'POST') return false;
    if (downFor() > 0) {
      res.setHeader('retry-after', String(Math.ceil(downFor())));
      sendJson(res, 503, { error: 'down for maintenance, try again later' });
      return true;
    }
    const reading = request.body as { id?: unknown; kind?: unknown; vendor?: unknown } | undefined;
    const what = `${String(reading?.vendor ?? '?')} ${String(reading?.kind ?? 'body')}`;
    const id = String(reading?.id ?? `call-${hospitalReadings}`);
    const firstTime = !refusedOnce.has(id);
    if (firstTime) hospitalReadings++;
    if (hospitalFailEvery > 0 && firstTime && hospitalReadings % hospitalFailEvery === 0) {
      refusedOnce.add(id);
      log(`${clock()}  hospital   refused ${what} with 503 (a hospital outage, to show ack: flow: the vendor will retry)`);
      sendJson(res, 503, { error: 'try again later' });
      return true;
    }
    hospitalReceived.push(request.body);
    log(`${clock()}  hospital   stored ${what}`);
    sendJson(res, 201, { stored: true });
    return true;
  };
  const faults = { failEvery: hospitalFailEvery, slowEvery: options.hospitalSlowEvery ?? 0, slowMs: options.hospitalSlowMs ?? DEFAULT_SLOW_MS };
  let apiUrl = '';
  const hospitalFhir = createHospitalFhir({ ...faults, log, baseUrl: () => apiUrl, downFor });
  const server: CloudServer = await startCloudServer(
    async (request, res) =>
      (await viatom.handler(request, res)) || (await expeed.handler(request, res)) || hospital(request, res) || (await hospitalFhir.handler(request, res)),
    options.port ?? DEFAULT_SANDBOX_PORT,
  );
  apiUrl = server.url;
  const mllpOptions = { ...faults, charset: options.mllpCharset, log };
  let hospitalMllp: HospitalMllp;
  try {
    hospitalMllp = await startHospitalMllp({ ...mllpOptions, port: options.mllpPort ?? DEFAULT_MLLP_PORT }).catch(async (error: NodeJS.ErrnoException) => {
      if (options.mllpPort !== undefined || error.code !== 'EADDRINUSE') throw error;
      const listener = await startHospitalMllp({ ...mllpOptions, port: 0 });
      log(`${clock()}  sandbox    port ${DEFAULT_MLLP_PORT} is taken: the hospital's MLLP listener is on ${listener.port} instead`);
      return listener;
    });
  } catch (error) {
    await server.close();
    throw new Error(`the hospital's MLLP listener could not listen on port ${options.mllpPort ?? DEFAULT_MLLP_PORT}: ${(error as Error).message}`);
  }
  log(`${clock()}  sandbox    Viatom and Expeed APIs and the hospital API on ${server.url}`);
  log(`${clock()}  sandbox    the hospital's FHIR R4 server on ${server.url}${FHIR_BASE_PATH}, its HL7 v2 MLLP listener on ${hospitalMllp.host}:${hospitalMllp.port}`);
  if (hospitalDown.length > 0) {
    const mllp = hospitalMllp;
    const seconds = (ms: number): string => `${ms / 1000} s`;
    log(`${clock()}  sandbox    the hospital goes down for maintenance from ${hospitalDown.map((w) => `${seconds(w.fromMs)} to ${seconds(w.toMs)}`).join(', ')} after now`);
    startedAt = Date.now();
    outage = await scheduleOutage(hospitalDown, startedAt, async (down, window) => {
      if (down) {
        await mllp.down();
        log(
          `${clock()}  hospital   DOWN for maintenance for ${seconds(window.toMs - window.fromMs)} (until ${seconds(window.toMs)} after the sandbox started): ` +
            `MLLP ${mllp.host}:${mllp.port} refuses connections (open ones dropped), FHIR and the HTTP API answer 503`,
        );
        return;
      }
      try {
        await mllp.up();
        log(`${clock()}  hospital   back UP after ${seconds(window.toMs - window.fromMs)} of maintenance: FHIR, the HTTP API and MLLP on ${mllp.host}:${mllp.port} take readings again`);
      } catch (error) {
        // FHIR and the HTTP API are back all the same; the MLLP port was taken meanwhile
        log(`${clock()}  hospital   back UP after maintenance, but MLLP could not listen on ${mllp.host}:${mllp.port} again: ${(error as Error).message}`);
      }
    });
  }

  const deliveries: Delivery[] = [];
  let stopped = false;
  const wake = new Set<() => void>();
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake.delete(done);
        resolve();
      }
      wake.add(done);
    });

  async function deliver(push: PlannedPush, target: string, duplicate: boolean): Promise<void> {
    const path = new URL(target).pathname;
    for (let attempt = 0; attempt <= maxRetries && !stopped; attempt++) {
      const body = attempt === 0 && !duplicate ? push.body : push.retryBody;
      let status = 0;
      let acknowledged = false;
      let detail = '';
      try {
        const result = await pushJson(target, body);
        status = result.status;
        acknowledged = isAcknowledged(push.vendor, status, result.text);
        // The vendor envelope says why; an HTML error page (a 404 of Node-RED) would only be noise.
        if (!acknowledged && result.text.startsWith('{')) detail = ` ${result.text.replace(/\s+/g, ' ').slice(0, 100)}`;
      } catch (error) {
        detail = ` no answer (${(error as Error).message})`;
      }
      deliveries.push({ push, target, attempt, duplicate, status, acknowledged });
      const note = duplicate && attempt === 0 ? ' (the cloud sends it again)' : attempt > 0 ? ` (retry ${attempt} of ${maxRetries})` : '';
      log(`${clock()}  ${push.vendor.padEnd(9)}  ${push.summary}${note} → ${path} ${status || 'failed'}${detail}`);
      if (acknowledged) return;
      // Any other answer, a refusal (4xx) too, is pushed again, a bounded number of times.
      if (attempt < maxRetries) await pause(retryDelayMs);
      else log(`${clock()}  ${push.vendor.padEnd(9)}  gave up after ${maxRetries} retries → ${path}`);
    }
  }

  async function run(vendor: Vendor): Promise<void> {
    const traffic = trafficOf(vendor);
    if (!traffic) throw new Error(`the sandbox has no traffic for ${vendor} (src/sandbox/traffic/${vendor}.ts)`);
    const script = traffic.script();
    for (let n = 1; !stopped && (options.count === undefined || n <= options.count); n++) {
      const push = script.next(Date.now());
      await Promise.all(targets(vendor).map((target) => deliver(push, target, false)));
      if (duplicateEvery > 0 && n % duplicateEvery === 0 && !stopped) {
        await Promise.all(targets(vendor).map((target) => deliver(push, target, true)));
      }
      if (options.count === undefined || n < options.count) await pause(intervalMs);
    }
  }

  async function registerExpeed(): Promise<boolean> {
    const url = targets('expeed')[0]!;
    for (let attempt = 0; !stopped && attempt < 30; attempt++) {
      const result = await expeed.register(url, SANDBOX_CREDENTIALS.expeed.handshakeToken).catch((error: Error) => ({ accepted: false, status: 0, text: error.message }));
      if (result.accepted) {
        log(`${clock()}  expeed     ${new URL(url).pathname} answered the URL check (handshake) with the nonce: registered`);
        return true;
      }
      if (attempt === 0) log(`${clock()}  expeed     URL check of ${new URL(url).pathname}: ${result.status || 'no answer'}; trying again every second`);
      await pause(1000);
    }
    log(`${clock()}  expeed     ${new URL(url).pathname} never passed the URL check: no Expeed pushes`);
    return false;
  }

  const finished = (async () => {
    await waitForServer(targets(vendors[0] ?? SANDBOX_VENDORS[0]!)[0]!, options.waitForNodeRedMs ?? 120_000, log);
    const runs = vendors.map(async (vendor) => {
      if (vendor === 'expeed' && !(await registerExpeed())) return;
      await run(vendor);
    });
    if (options.durationMs !== undefined) {
      const timer = setTimeout(() => {
        stopped = true;
        for (const done of wake) done();
      }, options.durationMs);
      await Promise.all(runs);
      clearTimeout(timer);
    } else {
      await Promise.all(runs);
    }
    await viatom.settled();
  })();

  return {
    apiUrl: server.url,
    deliveries,
    hospitalReceived,
    fhirUrl: `${server.url}${FHIR_BASE_PATH}`,
    hospitalFhir,
    hospitalMllp,
    mllpPort: hospitalMllp.port,
    expeed,
    finished,
    async stop() {
      stopped = true;
      for (const done of wake) done();
      await finished.catch(() => undefined);
      await outage?.stop();
      await expeed.close();
      await hospitalMllp.close();
      await server.close();
    },
  };
}
