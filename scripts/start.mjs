// `npm start`: Node-RED with this checkout's nodes and the quick-start flow on
// http://127.0.0.1:1880 (PORT overrides the port). The user directory is .demo/: your changes to
// the flow are kept there across restarts; delete .demo/ to start over.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const userDir = path.join(root, '.demo');
const port = Number(process.env.PORT ?? 1880);

const scope = path.join(userDir, 'node_modules', '@health-bridge');
fs.mkdirSync(scope, { recursive: true });
const link = path.join(scope, 'node-red-nodes');
if (!fs.existsSync(link)) fs.symlinkSync(root, link, 'dir');

const settings = {
  uiHost: '127.0.0.1',
  uiPort: port,
  flowFile: 'flows.json',
  // Credentials in the demo are sample values; a real installation sets its own secret.
  credentialSecret: 'health-bridge-demo',
  telemetry: { enabled: false },
  editorTheme: { tours: false },
  contextStorage: { default: { module: 'memory' }, file: { module: 'localfilesystem' } },
};
fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);

const flowFile = path.join(userDir, 'flows.json');
if (!fs.existsSync(flowFile)) {
  const flow = fs.readFileSync(path.join(root, 'examples', 'quick-start.json'), 'utf8');
  fs.writeFileSync(flowFile, flow.replaceAll('127.0.0.1:1880', `127.0.0.1:${port}`));
}

const nodeRed = spawn(
  process.execPath,
  [path.join(root, 'node_modules', 'node-red', 'red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')],
  { stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => nodeRed.kill(signal));
nodeRed.on('exit', (code) => process.exit(code ?? 0));
