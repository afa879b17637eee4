// Copies what Node-RED loads beside each compiled node file (editor .html, locales, icons) from
// src/nodes to dist/nodes. Receivers share one form, one set of defaults, labels and help: those
// live once in src/nodes/shared/ and are spliced into each receiver where it says
//   <!-- @include receiver-node.html type=lezhi-in icon=… -->   (a receiver's whole editor file)
//   <!-- @include receiver-form.html -->   (editor template or help text; help includes come
//                                          from shared/locales/<lang>/, e.g. receiver-help.html)
//   // @include receiver-credentials.js    (inside registerType's credentials object)
// (an include line that still holds an unset {{placeholder}} is left out, so that
//   <!-- @include receiver-account-row.html type={{type}} account={{account}} -->
// in receiver-node.html adds an account row only to a receiver included with account=…),
// and a locale file that says "@include": ["receiver"] gets the top-level keys of
// shared/locales/<lang>/receiver.json added beside its own. Node-RED gives each node file one i18n
// namespace (its own locales/<lang>/<file>.json), so a shared string must sit in every receiver's
// catalog under one fixed key: "health-bridge-receiver.label.path" resolves the same way in the
// lezhi-in and sinocare-in editors (the shared form cannot know which type includes it) and in
// RED._() at run time. Editor code (resources/receiver-editor.js, resources/env-input.js) is not
// spliced: Node-RED serves the package's resources/ folder and the editor files load it with
// <script src="{{resources}}/…">. Every node's `defaults` (values and validators) and the rows of
// its options come from its zod options schema: `{{defaults.<type>}}` and `<!-- @form <type> … -->`
// (scripts/editor-assets.mjs, src/lib/editor/). BUILD_VALUES below fill the build's other
// placeholders from the runtime's modules. The output is plain Node-RED files: nothing is resolved
// at run time.
// src/nodes/shared/README.md says the same at more length.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { defaultsSource, formRows } from './editor-assets.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const src = path.join(root, 'src', 'nodes');
const shared = path.join(src, 'shared');
const out = path.join(root, 'dist', 'nodes');
const require = createRequire(import.meta.url);
// tsc has run: what the editor files say about the runtime comes from the runtime's own modules,
// the version every editor file writes into a new node, the receivers' defaults and path rule.
const { CONFIG_VERSION, STEPS } = require(path.join(root, 'dist', 'lib', 'config-version.js'));
const { PATIENT_DEFAULTS, DEFAULT_PATIENT_ID_TYPE } = require(path.join(root, 'dist', 'lib', 'formats', 'patient.js'));
const { NODE_ERROR_CODES, errorCodesHtml } = require(path.join(root, 'dist', 'lib', 'error-codes.js'));
const { RECEIVER_DEFAULTS } = require(path.join(root, 'dist', 'lib', 'receiver', 'config.js'));
// every node's editor defaults and form rows, from its options schema (scripts/editor-assets.mjs)
const EDITOR = require(path.join(root, 'dist', 'lib', 'editor', 'nodes.js'));
const { name: MODULE_NAME } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

/** A default is written bare into JS strings and HTML attributes: it must need no escaping there. */
function plainDefault(name, value) {
  if (typeof value === 'number' || /^[\w/.:+-]*$/.test(value)) return String(value);
  throw new Error(`the default of ${name} (${JSON.stringify(value)}) would need escaping in the editor files`);
}

const BUILD_VALUES = {
  // the configuration steps as data, for the editor files that migrate an old node they open
  // (resources/config-migrate.js): JSON is a JavaScript literal
  'config.steps': JSON.stringify(STEPS),
  // who a reading belongs to (src/lib/formats/patient.ts), in the help of health-fhir and health-hl7
  'patient.default.patientField': plainDefault('patientField', PATIENT_DEFAULTS.patientField),
  'patient.default.patientIdType': plainDefault('patientIdType', DEFAULT_PATIENT_ID_TYPE),
  // Where Node-RED serves this package's resources/ folder (registry: resources/<module name>/).
  resources: `resources/${MODULE_NAME}`,
  // the receivers' form (shared/receiver-form.html) shows them as placeholders
  ...Object.fromEntries(Object.entries(RECEIVER_DEFAULTS).map(([name, value]) => [`receiver.default.${name}`, plainDefault(name, value)])),
  // each node's error codes (src/lib/error-codes.ts), for its help: `{{errors.<type>}}`
  ...Object.fromEntries(Object.keys(NODE_ERROR_CODES).map((type) => [`errors.${type}`, errorCodesHtml(type, '—')])),
};

/** Fills the build's own placeholders; any `{{…}}` or `@include` left over fails the build. */
function finished(text, file) {
  const generated = text
    .replace(/^([ \t]*)\{\{defaults\.([\w-]+)\}\}[ \t]*$/gm, (_, indent, type) =>
      defaultsSource(type, EDITOR, CONFIG_VERSION).map((line) => indent + line).join('\n'))
    .replace(/^([ \t]*)<!--\s*@form\s+([\w-]+)\s+(.*?)\s*-->[ \t]*$/gm, (_, indent, type, tokens) =>
      formRows(type, tokens.split(/\s+/), EDITOR, shared).map((line) => (line ? indent + line : line)).join('\n'));
  const filled = generated.replace(/\{\{([\w.-]+)\}\}/g, (placeholder, key) => BUILD_VALUES[key] ?? placeholder);
  const leftover = /\{\{[\w.-]*\}\}|@include\b|@form\b/.exec(filled);
  if (leftover) {
    const line = filled.slice(0, leftover.index).split('\n').length;
    throw new Error(`${path.relative(root, file)}:${line}: "${leftover[0]}" left after the includes were spliced in`);
  }
  return filled;
}

function expandIncludes(text, dir) {
  return text.replace(
    /^([ \t]*)(?:<!--|\/\/)\s*@include\s+([\w.-]+)((?:\s+[\w-]+=\S+)*)\s*(?:-->)?[ \t]*$/gm,
    (_, indent, name, params) => {
      // `key=value` pairs fill the included file's {{key}} placeholders (e.g. a receiver's type).
      const values = Object.fromEntries(params.trim().split(/\s+/).filter(Boolean).map((pair) => pair.split('=')));
      if (Object.values(values).some((value) => /^\{\{\w+\}\}$/.test(value))) {
        return '';
      }
      const included = fs
        .readFileSync(path.join(dir, name), 'utf8')
        .replace(/\s+$/, '')
        .replace(/\{\{([\w.]+)\}\}/g, (placeholder, key) => values[key] ?? placeholder);
      return expandIncludes(included, dir)
        .split('\n')
        .map((line) => (line ? indent + line : line))
        .join('\n');
    },
  );
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `over` wins; objects present in both are merged key by key. */
function deepMerge(base, over) {
  const result = { ...base };
  for (const [key, value] of Object.entries(over)) {
    result[key] = isObject(value) && isObject(result[key]) ? deepMerge(result[key], value) : value;
  }
  return result;
}

function mergeLocale(file, lang) {
  const own = JSON.parse(fs.readFileSync(file, 'utf8'));
  const includes = own['@include'] ?? [];
  delete own['@include'];
  let merged = {};
  for (const name of includes) {
    const sharedFile = path.join(shared, 'locales', lang, `${name}.json`);
    merged = deepMerge(merged, JSON.parse(fs.readFileSync(sharedFile, 'utf8')));
  }
  merged = deepMerge(merged, own);
  return JSON.stringify(merged, null, 2) + '\n';
}

fs.mkdirSync(out, { recursive: true });
for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
  if (entry.isFile() && entry.name.endsWith('.html')) {
    const file = path.join(src, entry.name);
    fs.writeFileSync(path.join(out, entry.name), finished(expandIncludes(fs.readFileSync(file, 'utf8'), shared), file));
  }
}
fs.cpSync(path.join(src, 'icons'), path.join(out, 'icons'), { recursive: true });
for (const lang of fs.readdirSync(path.join(src, 'locales'))) {
  const langOut = path.join(out, 'locales', lang);
  fs.mkdirSync(langOut, { recursive: true });
  for (const name of fs.readdirSync(path.join(src, 'locales', lang))) {
    const file = path.join(src, 'locales', lang, name);
    const text = name.endsWith('.json')
      ? mergeLocale(file, lang)
      : finished(expandIncludes(fs.readFileSync(file, 'utf8'), path.join(shared, 'locales', lang)), file);
    fs.writeFileSync(path.join(langOut, name), text);
  }
}

// The editor plugin (the Health Bridge sidebar): its editor file and catalogs beside its runtime file.
const pluginsSrc = path.join(root, 'src', 'plugins');
const pluginsOut = path.join(root, 'dist', 'plugins');
fs.mkdirSync(pluginsOut, { recursive: true });
for (const entry of fs.readdirSync(pluginsSrc, { withFileTypes: true })) {
  // its editor file loads its code from resources/ ({{resources}}), as the node files do
  if (entry.isFile() && entry.name.endsWith('.html')) {
    const file = path.join(pluginsSrc, entry.name);
    fs.writeFileSync(path.join(pluginsOut, entry.name), finished(fs.readFileSync(file, 'utf8'), file));
  }
  if (entry.isDirectory() && entry.name === 'locales') fs.cpSync(path.join(pluginsSrc, 'locales'), path.join(pluginsOut, 'locales'), { recursive: true });
}
