// `npm start`: Node-RED with this checkout's nodes on http://127.0.0.1:1880 (PORT overrides it),
// every example flow deployed, and the vendor sandbox pushing into them, so that readings show up
// in the debug sidebar and in .demo/health-bridge-data/ within a minute.
//   npm start -- --no-sandbox   (or HEALTH_BRIDGE_SANDBOX=0) starts Node-RED alone, for real pushes.
// What the demo shows and when (the hospital's maintenance, the CGM patients' story) is set in one
// place, src/sandbox/story.ts, and said on the console when the sandbox starts:
//   by default the sandbox's hospital is down for maintenance from 60 s to 120 s after the start;
//   npm start -- --hospital-down 30-90   from 30 s to 90 s instead (several: 30-90,120-150);
//   npm start -- --hospital-down off     never.
// The user directory is .demo/: your changes to the flows are kept there across restarts; delete
// .demo/ to start over with the examples.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const { startSandbox } = require(path.join(root, 'dist', 'sandbox', 'sandbox.js'));
const { describeStory, npmStartHospitalDown } = require(path.join(root, 'dist', 'sandbox', 'story.js'));
const { exampleTargets, examplesForSandbox } = require(path.join(root, 'dist', 'sandbox', 'example-flows.js'));

// not strict: other arguments are left alone, as before
const { values: args } = parseArgs({ options: { 'no-sandbox': { type: 'boolean' }, 'hospital-down': { type: 'string' } }, strict: false });
const withSandbox = !args['no-sandbox'] && process.env.HEALTH_BRIDGE_SANDBOX !== '0';
let hospitalDown;
try {
  // without the flag, the default window of story.ts: the queues grow and drain for all to see
  hospitalDown = npmStartHospitalDown(args['hospital-down']);
} catch (error) {
  console.error(`npm start: --hospital-down: ${error.message}`);
  process.exit(2);
}
const userDir = path.join(root, '.demo');
const port = Number(process.env.PORT ?? 1880);
const nodeRedUrl = `http://127.0.0.1:${port}`;
// The examples call the sandbox's APIs on 1881; with another PORT the sandbox moves along.
const sandboxPort = port + 1;
const dataDir = path.join(userDir, 'health-bridge-data');

/** 2575, the HL7 port, when it is free here, else one the system gives: the example's hl7-mllp is pointed at it. */
function mllpPortFree(wanted) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => {
      const any = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = any.address();
        any.close(() => resolve(free));
      });
    });
    probe.listen(wanted, '127.0.0.1', () => probe.close(() => resolve(wanted)));
  });
}
const mllpPort = await mllpPortFree(2575);

const scope = path.join(userDir, 'node_modules', '@health-bridge');
fs.mkdirSync(scope, { recursive: true });
const link = path.join(scope, 'node-red-nodes');
if (!fs.existsSync(link)) fs.symlinkSync(root, link, 'dir');

const settings = {
  uiHost: '127.0.0.1',
  uiPort: port,
  flowFile: 'flows.json',
  // The file nodes of the examples write relative to the user directory.
  fileWorkingDirectory: userDir,
  // Credentials in the demo are sandbox values; a real installation sets its own secret.
  credentialSecret: 'health-bridge-demo',
  telemetry: { enabled: false },
  editorTheme: { tours: false },
  contextStorage: { default: { module: 'memory' }, file: { module: 'localfilesystem' } },
};
fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
const firstStart = !fs.existsSync(path.join(userDir, 'flows.json'));

// The outbox keeps what waits encrypted under a key that must not live in the user directory.
// The demo keeps one of its own in .cache/ (made on the first start); a real installation gives
// HEALTH_BRIDGE_KEY or HEALTH_BRIDGE_KEY_FILE from its secret store (README: "Patients' data at rest").
const env = { ...process.env };
if (!env.HEALTH_BRIDGE_KEY && !env.HEALTH_BRIDGE_KEY_FILE) {
  const keyFile = path.join(root, '.cache', 'health-bridge-demo.key');
  if (!fs.existsSync(keyFile)) {
    fs.mkdirSync(path.dirname(keyFile), { recursive: true });
    fs.writeFileSync(keyFile, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  }
  env.HEALTH_BRIDGE_KEY_FILE = keyFile;
}

const nodeRed = spawn(
  process.execPath,
  [path.join(root, 'node_modules', 'node-red', 'red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')],
  { stdio: 'inherit', env },
);
let sandbox;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    nodeRed.kill(signal);
    void sandbox?.stop();
  });
}
nodeRed.on('exit', (code) => process.exit(code ?? 0));

async function adminApiUp() {
  for (;;) {
    try {
      if ((await fetch(`${nodeRedUrl}/flows`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Deploys the examples with the sandbox's sample credentials, as the editor would. */
async function deployExamples() {
  const response = await fetch(`${nodeRedUrl}/flows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify(examplesForSandbox(`http://127.0.0.1:${sandboxPort}`, { mllpPort })),
  });
  if (!response.ok) throw new Error(`deploying the examples failed: ${response.status} ${await response.text()}`);
  console.log(`[health-bridge] deployed the example flows; open ${nodeRedUrl} to see them`);
}

/** Says once where the first readings landed, so a newcomer knows where to look. */
function announceReadings() {
  const timer = setInterval(() => {
    const files = fs.existsSync(dataDir) ? fs.readdirSync(dataDir).filter((f) => f.startsWith('readings-')) : [];
    if (files.length === 0) return;
    clearInterval(timer);
    console.log(`[health-bridge] readings written: ${files.map((f) => path.join(path.relative(root, dataDir), f)).join(', ')} (and in the debug sidebar)`);
  }, 500);
  timer.unref();
}

await adminApiUp();
if (firstStart) await deployExamples();
if (withSandbox) {
  sandbox = await startSandbox({
    nodeRedUrl,
    port: sandboxPort,
    // every receiver of the examples (its own example's and the hospital bridge's) gets its vendor's pushes
    targets: exampleTargets(nodeRedUrl),
    hospitalFailEvery: 20,
    // one answer in 10 of the FHIR server and the MLLP listener takes 2 s: under the receivers' ackTimeout of 4 s
    hospitalSlowEvery: 10,
    hospitalSlowMs: 2000,
    // the hospital in maintenance (MLLP refuses connections, FHIR answers 503): by default from 60 s
    // to 120 s, else as --hospital-down says
    hospitalDown,
    // MLLP on 2575, the HL7 port, or a free port when 2575 is taken (the line below says which)
    mllpPort,
    log: (line) => console.log(`[sandbox] ${line}`),
  });
  console.log(
    `[health-bridge] the hospital takes readings at ${sandbox.apiUrl}/hospital/readings (HTTP), ${sandbox.fhirUrl} (FHIR R4) ` +
      `and MLLP 127.0.0.1:${sandbox.mllpPort} (HL7 v2); its "[sandbox] … hospital" lines say what it stored`,
  );
  console.log(`[health-bridge] what happens next (src/sandbox/story.ts; npm start -- --hospital-down off keeps the hospital up):`);
  for (const line of describeStory(hospitalDown)) console.log(`[health-bridge]   ${line}`);
  console.log(`[health-bridge] watch it in the editor's Health Bridge sidebar and, with the metrics example deployed, at ${nodeRedUrl}/metrics`);
  announceReadings();
} else {
  console.log('[health-bridge] no sandbox: point the vendors at this Node-RED (README: "What each vendor must be told")');
}
