// What scripts/build-assets.mjs writes into the editor files from the runtime's options schemas
// (src/lib/editor/nodes.ts): each node's whole `defaults` object, validators included, and the
// form rows of its properties. A line
//   {{defaults.<type>}}            (inside registerType's `defaults: { … }`)
// becomes the node's name, configuration version, config nodes and options, each option with the
// value a blank means to the runtime and `validate: window.healthBridge.editorRules.validator(rule)`
// (resources/editor-rules.js); a line
//   <!-- @form <type> token token … -->
// becomes rows of the edit dialog, one a token:
//   name                       the name row
//   <property>:<icon>[:opt…]   a row for the property, its input chosen by its rule (a select of
//                              the schema's members, a number input with the schema's bounds, a
//                              checkbox, a text input), label `<type>.label.<property>`, the
//                              runtime's default as placeholder. opt: unit=<u> (`<type>.unit.<u>`
//                              after a number), text=<key> (`<type>.<key>` after a checkbox),
//                              class=<c> (on the row), ph=<text> (placeholder), type=<text|password>,
//                              options=<a,b> (i18n keys `<type>.<property>.<a>` for the members in
//                              order; `literal`: the members as they are)
//   tip=<key> / tip-=<key> / tip+=<key>   `<type>.tip.<key>`: spaced below / plain / spaced above
//   @<file>                    a file of src/nodes/shared, as it is
import fs from 'node:fs';
import path from 'node:path';

const escapeHtml = (text) => String(text).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The `defaults` entries of one node type, as lines of JavaScript. */
export function defaultsSource(type, { editorDefaults, EDITOR_OPTIONS }, configVersion) {
  const options = EDITOR_OPTIONS[type];
  const lines = ['name: {value: ""},', `${options.versionProperty ?? 'version'}: {value: ${configVersion}},`];
  for (const [property, configType] of Object.entries(options.configs ?? {})) {
    lines.push(`${property}: {value: "", type: ${JSON.stringify(configType)}, required: true},`);
  }
  for (const [property, configType] of Object.entries(options.optionalConfigs ?? {})) {
    lines.push(`${property}: {value: "", type: ${JSON.stringify(configType)}, required: false},`);
  }
  for (const [property, entry] of Object.entries(editorDefaults(type))) {
    const required = entry.required ? ', required: true' : '';
    lines.push(
      `${property}: {value: ${JSON.stringify(entry.value)}${required}, validate: window.healthBridge.editorRules.validator(${JSON.stringify(entry.rule)})},`,
    );
  }
  return lines;
}

function parseToken(token) {
  const [property, icon, ...rest] = token.split(':');
  return { property, icon, opts: Object.fromEntries(rest.map((opt) => [opt.slice(0, opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1)])) };
}

/** The input of one property, from its rule. */
function input(type, property, id, entry, opts) {
  const rule = entry?.rule ?? { kind: 'text' };
  const fill = ` style="width: calc(100% - 135px);"`;
  const hasDefault = entry && entry.value !== '' && typeof entry.value !== 'boolean';
  const placeholder = opts.ph !== undefined ? ` placeholder="${escapeHtml(opts.ph)}"` : hasDefault ? ` placeholder="${escapeHtml(entry.value)}"` : '';
  if (rule.kind === 'choice' || (rule.kind === 'number' && rule.values)) {
    const names = opts.options === 'literal' ? null : opts.options ? opts.options.split(',') : rule.values;
    const options = rule.values.map((value, i) =>
      names ? `    <option value="${escapeHtml(value)}" data-i18n="${type}.${property}.${names[i]}"></option>` : `    <option value="${escapeHtml(value)}">${escapeHtml(value)}</option>`,
    );
    return [`<select id="${id}"${fill}>`, ...options, '</select>'];
  }
  if (rule.kind === 'flag') {
    return [`<input type="checkbox" id="${id}" style="display: inline-block; width: auto; vertical-align: top;">`, `<span data-i18n="${type}.${opts.text}"></span>`];
  }
  if (rule.kind === 'number' && opts.type !== 'text') {
    // the browser's spinner keeps to the schema's bounds; an exclusive bound of 0 starts at 0.1
    const min = rule.min === undefined ? '' : ` min="${rule.minExclusive ? rule.min + 0.1 : rule.min}"`;
    const max = rule.max === undefined ? '' : ` max="${rule.max}"`;
    const unit = opts.unit ? [`<span data-i18n="${type}.unit.${opts.unit}"></span>`] : [];
    return [`<input type="number" id="${id}"${min}${max} step="${rule.int ? 1 : 'any'}"${placeholder} style="width: 100px;">`, ...unit];
  }
  return [`<input type="${opts.type === 'password' ? 'password' : 'text'}" id="${id}"${fill}${placeholder}>`];
}

/** The rows an `@form` line names, as lines of HTML. */
export function formRows(type, tokens, { editorDefaults, EDITOR_OPTIONS }, shared) {
  const prefix = EDITOR_OPTIONS[type].config ? 'node-config-input' : 'node-input';
  const defaults = editorDefaults(type);
  const rows = [];
  const row = (property, icon, label, body, cls = '') => [
    `<div class="form-row${cls ? ` ${cls}` : ''}">`,
    `    <label style="width: 130px;" for="${prefix}-${property}"><i class="fa fa-${icon}"></i> <span data-i18n="${label}"></span></label>`,
    ...body.map((line) => `    ${line}`),
    '</div>',
  ];
  for (const token of tokens) {
    const tip = /^tip([-+]?)=(.+)$/.exec(token);
    if (tip) {
      const style = tip[1] === '-' ? '' : tip[1] === '+' ? ' style="margin-top: 8px;"' : ' style="margin-bottom: 12px;"';
      rows.push(`<div class="form-tips"${style}><span data-i18n="[html]${type}.tip.${tip[2]}"></span></div>`);
    } else if (token.startsWith('@')) {
      rows.push(...fs.readFileSync(path.join(shared, token.slice(1)), 'utf8').replace(/\s+$/, '').split('\n'));
    } else if (token === 'name') {
      rows.push(...row('name', 'tag', 'node-red:common.label.name', [`<input type="text" id="${prefix}-name" style="width: calc(100% - 135px);" data-i18n="[placeholder]node-red:common.label.name">`]));
    } else {
      const { property, icon, opts } = parseToken(token);
      const entry = defaults[property];
      const known = entry || EDITOR_OPTIONS[type].configs?.[property] || EDITOR_OPTIONS[type].optionalConfigs?.[property] || EDITOR_OPTIONS[type].credentials?.includes(property) || opts.type === 'password';
      if (!known) throw new Error(`@form ${type}: no property ${property}`);
      rows.push(...row(property, icon, `${type}.label.${property}`, input(type, property, `${prefix}-${property}`, entry, opts), opts.class));
    }
  }
  return rows;
}
