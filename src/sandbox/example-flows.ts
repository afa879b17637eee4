import fs from 'node:fs';
import path from 'node:path';
import { vendorOfReceiver, type Vendor } from '../lib/vendors/manifest';
import { SANDBOX_PATIENT_ROWS } from './patients';
import { CGM_STORY } from './story';
import { DEFAULT_SANDBOX_PORT, SANDBOX_CREDENTIALS, SANDBOX_DEVICES } from './sandbox';

/**
 * The example flows of the package (examples/*.json) made ready for the sandbox: the accounts get
 * the sandbox's sample credentials, the Expeed nodes their device keys and health-patient its rows, in the form the editor
 * deploys them (credentials inline), so `npm start` and the tests deploy them through the admin API
 * as they are. Exported flows never carry credentials, which is why this step exists.
 */

type FlowNode = Record<string, unknown> & { id: string; type: string };

export const EXAMPLES_DIR = path.resolve(__dirname, '..', '..', 'examples');

export function readExample(file: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as FlowNode[];
}

export function exampleFiles(): string[] {
  return fs.readdirSync(EXAMPLES_DIR).filter((file) => file.endsWith('.json')).sort();
}

/**
 * Every example, with sandbox credentials, pointing at the sandbox's APIs (and its FHIR server) on
 * `apiUrl`, and its hl7-mllp connections at the sandbox's MLLP listener on `mllpPort` when given.
 */
export function examplesForSandbox(apiUrl = `http://127.0.0.1:${DEFAULT_SANDBOX_PORT}`, options: { mllpPort?: number } = {}): FlowNode[] {
  const examplesApi = `http://127.0.0.1:${DEFAULT_SANDBOX_PORT}`;
  return exampleFiles().flatMap((file) =>
    readExample(file).map((node) => {
      const pointed = Object.fromEntries(
        Object.entries(node).map(([name, value]) => [name, typeof value === 'string' ? value.replaceAll(examplesApi, apiUrl) : value]),
      ) as FlowNode;
      switch (node.type) {
        case 'viatom-account':
          return { ...pointed, credentials: { ...SANDBOX_CREDENTIALS.viatom } };
        case 'expeed-account':
          return {
            ...pointed,
            platformKey: SANDBOX_CREDENTIALS.expeed.platformKey,
            credentials: { secretKey: SANDBOX_CREDENTIALS.expeed.secretKey, handshakeToken: SANDBOX_CREDENTIALS.expeed.handshakeToken },
          };
        case 'health-patient':
          return { ...pointed, credentials: { sources: JSON.stringify(SANDBOX_PATIENT_ROWS) } };
        case 'health-watch':
          // the example's own silence (15 min) outlasts the sandbox's quiet spell: shortened so the demo shows it
          return { ...pointed, silenceMinutes: CGM_STORY.watchSilenceMinutes };
        case 'hl7-mllp':
          return options.mllpPort === undefined ? pointed : { ...pointed, host: '127.0.0.1', port: String(options.mllpPort) };
        case 'expeed-query':
        case 'expeed-set': {
          const device = SANDBOX_DEVICES.find((d) => d.id === node.deviceId);
          return device ? { ...pointed, credentials: { deviceKey: device.key } } : pointed;
        }
        default:
          return pointed;
      }
    }),
  );
}

/**
 * Where the sandbox pushes so that every receiver of the examples gets its vendor's traffic: the
 * receivers' paths under `nodeRedUrl`, per vendor. A vendor's first target is the one at the
 * sandbox's default path, `/<vendor>` (its own example): the Viatom emulator sends its
 * authorization pushes, and the Expeed one its URL check, to the first target only.
 */
export function exampleTargets(nodeRedUrl: string): Partial<Record<Vendor, string[]>> {
  const base = nodeRedUrl.replace(/\/+$/, '');
  const targets: Partial<Record<Vendor, string[]>> = {};
  for (const file of exampleFiles()) {
    for (const node of readExample(file)) {
      const vendor = vendorOfReceiver(node.type);
      if (!vendor || node.d === true || typeof node.path !== 'string') continue;
      const path = node.path.startsWith('/') ? node.path : `/${node.path}`;
      (targets[vendor] ??= []).push(`${base}${path}`);
    }
  }
  for (const [vendor, urls] of Object.entries(targets)) {
    const own = `${base}/${vendor}`;
    urls.sort((a, b) => Number(a !== own) - Number(b !== own));
  }
  return targets;
}
