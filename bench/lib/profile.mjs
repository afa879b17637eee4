// Summarizes a V8 .cpuprofile (node --cpu-prof): where the samples' time went, by package
// (ours, Node-RED, Express, zod, Node itself, GC) and by function, self and inclusive.
//
//   node bench/lib/profile.mjs <file.cpuprofile> [top] [package dir]
//
// The package dir (this checkout unless told) is where "ours" lives: a copy given to
// `bench/run.mjs --package` counts as ours too.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

export function category(url, functionName, packageDir = ROOT) {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return 'native';
  }
  const file = url.replace(/^file:\/\//, '');
  if (file.startsWith(path.join(ROOT, 'dist')) || file.startsWith(path.join(packageDir, 'dist'))) return 'ours (dist/)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg) {
    const name = pkg[1];
    if (name.startsWith('@node-red/') || name === 'node-red') return 'Node-RED';
    if (['express', 'router', 'body-parser', 'raw-body', 'on-finished', 'finalhandler', 'send', 'type-is', 'content-type', 'iconv-lite',
      'qs', 'cookie-parser', 'cors', 'vary', 'mime', 'mime-types', 'accepts', 'negotiator', 'parseurl', 'path-to-regexp',
      'serve-static', 'depd', 'statuses', 'http-errors', 'media-typer', 'bytes', 'unpipe', 'destroy', 'ee-first', 'etag', 'fresh',
      'proxy-addr', 'forwarded', 'ipaddr.js', 'range-parser', 'utils-merge', 'merge-descriptors', 'methods', 'safe-buffer',
      'cookie', 'cookie-signature', 'encodeurl', 'escape-html', 'array-flatten'].includes(name)) return 'Express & middleware';
    return name;
  }
  if (file.startsWith('node:')) return 'Node core (JS)';
  return file;
}

export function summarize(profileFile, top = 25, packageDir = ROOT) {
  const profile = JSON.parse(fs.readFileSync(profileFile, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const label = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^file:\/\//, '').replace(`${packageDir}/`, '').replace(`${ROOT}/`, '')}:${lineNumber + 1}` : '';
    return `${functionName || '(anonymous)'} ${where}`.trim();
  };
  const self = new Map();
  const inclusive = new Map();
  const categories = new Map();
  const busy = { samples: 0 };
  for (const [id, n] of counts) {
    const node = nodes.get(id);
    const key = label(node);
    self.set(key, (self.get(key) ?? 0) + n);
    const cat = category(node.callFrame.url, node.callFrame.functionName, packageDir);
    categories.set(cat, (categories.get(cat) ?? 0) + n);
    if (cat !== 'idle') busy.samples += n;
    // inclusive: every distinct function on the stack of these samples
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frameKey = label(nodes.get(at));
      if (seen.has(frameKey)) continue;
      seen.add(frameKey);
      inclusive.set(frameKey, (inclusive.get(frameKey) ?? 0) + n);
    }
  }
  const pct = (n) => `${((100 * n) / busy.samples).toFixed(1)} %`;
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]);
  const lines = [`${path.basename(profileFile)}: ${total} samples, ${busy.samples} busy (not idle); shares of the busy samples`, '', 'by package:'];
  for (const [cat, n] of sorted(categories)) if (cat !== 'idle') lines.push(`  ${pct(n).padStart(8)}  ${cat}`);
  lines.push('', `self time, top ${top}:`);
  for (const [key, n] of sorted(self).filter(([key]) => !key.startsWith('(idle)')).slice(0, top)) lines.push(`  ${pct(n).padStart(8)}  ${key}`);
  lines.push('', `inclusive time of our functions (dist/), top ${top}:`);
  for (const [key, n] of sorted(inclusive).filter(([key]) => key.includes(' dist/')).slice(0, top)) lines.push(`  ${pct(n).padStart(8)}  ${key}`);
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const [file, top, packageDir] = process.argv.slice(2);
  if (!file) throw new Error('usage: node bench/lib/profile.mjs <file.cpuprofile> [top] [package dir]');
  console.log(summarize(file, Number(top ?? 25), packageDir ? path.resolve(packageDir) : ROOT));
}
