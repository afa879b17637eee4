#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { DEFAULT_MLLP_PORT, DEFAULT_SANDBOX_PORT, DEFAULT_SLOW_MS, HOSPITAL_PATH, SANDBOX_CREDENTIALS, SANDBOX_DEVICES, parseDownWindows, startSandbox, type DownWindow } from './sandbox';
import { isCharset, type Charset } from '../lib/formats/hl7v2';
import { isVendor, PUSH_VENDORS, type Vendor } from '../lib/vendors/manifest';
import { SANDBOX_VENDORS } from './traffic';
import { SAMPLE_VIATOM_PHONE } from './traffic/viatom';

/** "the Sinocare, Lezhi, Viatom and Expeed clouds": every vendor the sandbox has traffic for. */
const CLOUDS = SANDBOX_VENDORS.map((vendor) => PUSH_VENDORS[vendor].name).join(', ').replace(/, ([^,]*)$/, ' and $1');

const USAGE = `health-bridge-sandbox: the ${CLOUDS} clouds, emulated, pushing to your Node-RED

Usage: health-bridge-sandbox [options]

  --node-red <url>     Node-RED's base URL (with httpNodeRoot)         default http://127.0.0.1:1880
  --vendors <list>     which clouds push, comma-separated              default ${SANDBOX_VENDORS.join(',')}
  --<vendor> <urls>    receiver URL(s) of one vendor, comma-separated  default <node-red>/<vendor>
  --interval <s>       seconds between two pushes of one vendor        default 3
  --count <n>          stop after n pushes per vendor
  --duration <s>       stop after this many seconds
  --port <port>        port of the emulated Viatom/Expeed/hospital APIs default ${DEFAULT_SANDBOX_PORT}
  --duplicate-every <n>  every n-th push is sent twice, as clouds do   default 6 (0: never)
  --hospital-fail-every <n>  the hospital refuses every n-th reading once   default 0 (never)
                       (HTTP API and FHIR: 503, MLLP: AE); the retry is stored
  --hospital-slow-every <n>  one FHIR/MLLP answer in n comes late      default 0 (never)
  --hospital-slow-ms <ms>    how late a slow answer is                 default ${DEFAULT_SLOW_MS}
  --hospital-down <from>-<to>[,…]  the hospital is down for maintenance between these
                       seconds after the sandbox started (e.g. 30-90 or 30-90,120-150):
                       MLLP refuses connections, FHIR and the HTTP API answer 503
  --mllp-port <port>   the hospital's HL7 v2 MLLP listener             default ${DEFAULT_MLLP_PORT} (a free one if taken; 0: free)
  --mllp-charset <cs>  charset of a message without MSH-18            default utf-8 (or gb18030)
  --retries <n>        pushes again on an answer that is not success   default 3 (0: never)
                       (any 4xx/5xx, another code, no answer), as the clouds do
  --retry-delay <s>    seconds before a push is sent again             default 2
  --help

Every push prints one line: what it is (no personal data), the path and the answer.`;

const DEFAULT_RETRIES = 3;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function positiveNumber(name: string, text: string | undefined, allowZero = false): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) fail(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, not "${text}"`);
  return value;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        'node-red': { type: 'string', default: 'http://127.0.0.1:1880' },
        vendors: { type: 'string', default: SANDBOX_VENDORS.join(',') },
        // --<vendor> <urls>, one option per vendor
        ...(Object.fromEntries(SANDBOX_VENDORS.map((vendor) => [vendor, { type: 'string' }])) as Record<Vendor, { type: 'string' }>),
        interval: { type: 'string' },
        count: { type: 'string' },
        duration: { type: 'string' },
        port: { type: 'string' },
        'duplicate-every': { type: 'string' },
        'hospital-fail-every': { type: 'string' },
        'hospital-slow-every': { type: 'string' },
        'hospital-slow-ms': { type: 'string' },
        'hospital-down': { type: 'string' },
        'mllp-port': { type: 'string' },
        'mllp-charset': { type: 'string' },
        retries: { type: 'string' },
        'retry-delay': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const vendors = values.vendors.split(',').map((v) => v.trim()).filter(Boolean).map((vendor) => (isVendor(vendor) ? vendor : fail(`unknown vendor "${vendor}"`)));
  const targets: Partial<Record<Vendor, string[]>> = {};
  for (const vendor of SANDBOX_VENDORS) {
    const urls = values[vendor] as string | undefined;
    if (urls !== undefined) targets[vendor] = urls.split(',').map((url) => url.trim());
  }
  const port = positiveNumber('port', values.port, true);
  const interval = positiveNumber('interval', values.interval);
  const duration = positiveNumber('duration', values.duration);
  const retries = positiveNumber('retries', values.retries, true) ?? DEFAULT_RETRIES;
  if (!Number.isInteger(retries)) fail(`--retries must be a whole number, not "${values.retries}"`);
  const retryDelay = positiveNumber('retry-delay', values['retry-delay'], true);
  const mllpPort = positiveNumber('mllp-port', values['mllp-port'], true);
  if (mllpPort !== undefined && (!Number.isInteger(mllpPort) || mllpPort > 65535)) fail(`--mllp-port must be a port number, not "${values['mllp-port']}"`);
  let hospitalDown: DownWindow[] | undefined;
  try {
    hospitalDown = values['hospital-down'] === undefined ? undefined : parseDownWindows(values['hospital-down']);
  } catch (error) {
    fail(`--hospital-down: ${(error as Error).message}`);
  }
  const mllpCharset = values['mllp-charset']?.toLowerCase();
  if (mllpCharset !== undefined && !isCharset(mllpCharset)) fail(`--mllp-charset must be utf-8 or gb18030, not "${values['mllp-charset']}"`);

  const sandbox = await startSandbox({
    nodeRedUrl: values['node-red'],
    targets,
    vendors,
    port,
    intervalMs: interval === undefined ? undefined : interval * 1000,
    count: positiveNumber('count', values.count),
    durationMs: duration === undefined ? undefined : duration * 1000,
    duplicateEvery: positiveNumber('duplicate-every', values['duplicate-every'], true),
    hospitalFailEvery: positiveNumber('hospital-fail-every', values['hospital-fail-every'], true),
    hospitalSlowEvery: positiveNumber('hospital-slow-every', values['hospital-slow-every'], true),
    hospitalSlowMs: positiveNumber('hospital-slow-ms', values['hospital-slow-ms'], true),
    hospitalDown,
    mllpPort,
    mllpCharset: mllpCharset as Charset | undefined,
    maxRetries: retries,
    retryDelayMs: retryDelay === undefined ? undefined : retryDelay * 1000,
  });
  console.log(
    [
      `Configure the example flows' accounts for the sandbox (sample values, not secrets):`,
      `  viatom-account  host ${sandbox.apiUrl}  secret ${SANDBOX_CREDENTIALS.viatom.secret}  accessToken ${SANDBOX_CREDENTIALS.viatom.accessToken}`,
      `  expeed-account  apiBase ${sandbox.apiUrl}  platformKey ${SANDBOX_CREDENTIALS.expeed.platformKey}  secretKey ${SANDBOX_CREDENTIALS.expeed.secretKey}  handshakeToken ${SANDBOX_CREDENTIALS.expeed.handshakeToken}`,
      `  Expeed devices  ${SANDBOX_DEVICES.map((d) => `${d.id} (deviceKey ${d.key})`).join(', ')}`,
      `  Viatom user who authorized: phone ${SAMPLE_VIATOM_PHONE}`,
      `The hospital takes readings at: HTTP API ${sandbox.apiUrl}${HOSPITAL_PATH}, FHIR R4 ${sandbox.fhirUrl}, HL7 v2 MLLP ${sandbox.hospitalMllp.host}:${sandbox.mllpPort}`,
    ].join('\n'),
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void sandbox.stop().then(() => process.exit(0)));
  }
  await sandbox.finished;
  const { deliveries } = sandbox;
  const answered = deliveries.filter((d) => d.acknowledged).length;
  const retried = deliveries.filter((d) => d.attempt > 0).length;
  const gaveUp = deliveries.filter((d) => d.attempt === retries && !d.acknowledged).length;
  console.log(
    `sandbox done: ${deliveries.length} deliveries, ${answered} acknowledged, ${retried} retries, ${gaveUp} given up, ` +
      `${sandbox.hospitalReceived.length} stored by the hospital API, ` +
      `${sandbox.hospitalFhir.counts().Observation ?? 0} Observations by its FHIR server, ${sandbox.hospitalMllp.accepted().length} messages by its MLLP listener`,
  );
  await sandbox.stop();
}

main().catch((error: unknown) => {
  console.error(`sandbox: ${(error as Error).message}`);
  process.exit(1);
});
