import type { Kind, Quantity, Reading } from '../../reading';
import {
  categoryCoding, DATA_ABSENT_REASON, DEFAULT_UNITS, findCode, hasCodeFor, INTERPRETATION, KIND_RULES, UCUM,
  VITAL_SIGNS_PROFILE, type CodeRow, type Coding,
} from '../codes';
import { patientOf, vendorSystem } from '../patient';
import { FhirMappingError, type ResolvedOptions } from './options';

/**
 * A reading → one FHIR R4 Observation (docs/hospital.md#fhir-r4). One reading is one Observation, whatever the
 * output: the value the kind is named after is the Observation's own code and value, the reading's
 * other values are components (blood pressure, lipids and ECG are panels: every value a component).
 * So `output: observation` and `output: bundle` carry the same Observation, and `reading.id` is
 * the identifier of exactly one resource.
 */

// --- the little of FHIR's JSON we write (the package needs no FHIR library) -------------------

export interface CodeableConcept { coding?: Coding[]; text?: string }
export interface FhirQuantity { value: number; comparator?: '<' | '<=' | '>=' | '>'; unit?: string; system?: string; code?: string }
export interface Identifier { system: string; value: string }
export interface Reference { reference?: string; type?: string; identifier?: Identifier }

interface ValueParts {
  valueQuantity?: FhirQuantity;
  valueString?: string;
  valueBoolean?: boolean;
  dataAbsentReason?: CodeableConcept;
  interpretation?: CodeableConcept[];
}

export interface ObservationComponent extends ValueParts { code: CodeableConcept }

export interface Observation extends ValueParts {
  resourceType: 'Observation';
  meta?: { profile: string[] };
  contained?: DocumentReference[];
  identifier: Identifier[];
  status: 'final' | 'preliminary';
  category?: CodeableConcept[];
  code: CodeableConcept;
  subject?: Reference;
  effectiveDateTime: string;
  device?: Reference;
  derivedFrom?: Reference[];
  note?: Array<{ text: string }>;
  component?: ObservationComponent[];
}

export interface DocumentReference {
  resourceType: 'DocumentReference';
  id: string;
  status: 'current';
  description: string;
  content: Array<{ attachment: { url: string; title: string; contentType?: string } }>;
}

export interface Patient { resourceType: 'Patient'; identifier: Identifier[]; name?: Array<{ text: string }> }
export interface Device { resourceType: 'Device'; identifier: Identifier[]; serialNumber?: string }

// --- who and what: the identifiers -----------------------------------------------------------

/**
 * The patient's identifier, by `patientField` (src/lib/formats/patient.ts: `auto` takes the
 * hospital's id under `patientSystem`, else the vendor's own id under its vendor's system). None
 * when the reading names no one (an Expeed data point, `pii: drop`): with `requirePatient` that
 * is the error `no-patient`, else the Observation has no subject.
 */
export function patientIdentifier(reading: Reading, options: ResolvedOptions): Identifier | undefined {
  const ref = patientOf(reading, options.patientField);
  if (!ref) {
    if (options.requirePatient) {
      throw new FhirMappingError('no-patient', `health-fhir: reading ${reading.id} (${reading.vendor}) names no patient by patientField "${options.patientField}"`);
    }
    return undefined;
  }
  return { system: ref.hospital ? options.patientSystem : vendorSystem(ref), value: ref.value };
}

/**
 * The device's identifier under `deviceSystem`: its `sn` (docs/hospital.md#fhir-r4). A device that reports no
 * serial number but a vendor id (an Expeed `device_id`, a Lezhi scale's `deviceId`) is named by
 * `<vendor>:<id>`, so ids of two clouds never meet; a reading without either has no Device.
 */
export function deviceIdentifier(reading: Reading, options: ResolvedOptions): { identifier: Identifier; serialNumber?: string } | undefined {
  const sn = reading.device?.sn;
  if (sn !== undefined && String(sn).trim() !== '') return { identifier: { system: options.deviceSystem, value: String(sn) }, serialNumber: String(sn) };
  const id = reading.device?.id;
  if (id !== undefined && String(id).trim() !== '') return { identifier: { system: options.deviceSystem, value: `${reading.vendor}:${id}` } };
  return undefined;
}

export function patientResource(reading: Reading, identifier: Identifier): Patient {
  const patient: Patient = { resourceType: 'Patient', identifier: [identifier] };
  const name = reading.subject?.name;
  // the name where the reading carries one (as PID-5 in HL7 v2); `pii` upstream decides whether it does
  if (typeof name === 'string' && name.trim() !== '') patient.name = [{ text: name }];
  return patient;
}

export function deviceResource(device: { identifier: Identifier; serialNumber?: string }): Device {
  return { resourceType: 'Device', identifier: [device.identifier], ...(device.serialNumber && { serialNumber: device.serialNumber }) };
}

// --- values ----------------------------------------------------------------------------------

function quantity(q: Quantity): FhirQuantity {
  // an Expeed value keeps unit "": a number without a unit, and no UCUM code it does not have
  return q.unit === '' ? { value: q.value } : { value: q.value, unit: q.unit, system: UCUM, code: q.unit };
}

function concept(row: CodeRow | undefined, name: string): CodeableConcept {
  if (!row) return { text: name };
  return row.codings.length ? { coding: row.codings.map((c) => ({ ...c })), text: row.text } : { text: row.text };
}

const COMPARATOR = /^\s*(>=|<=|>|<|≥|≤|＞|＜)\s*(\d+(?:\.\d+)?)\s*$/;
const COMPARATORS: Record<string, FhirQuantity['comparator']> = { '>': '>', '<': '<', '>=': '>=', '<=': '<=', '≥': '>=', '≤': '<=', '＞': '>', '＜': '<' };

interface OutOfRange {
  text: string;
  level?: 'high' | 'low';
  /** The value names the device could not measure, the first described by `text` and `level`. */
  names: string[];
}

function interpretation(level: 'high' | 'low'): CodeableConcept[] {
  const code = level === 'high' ? { code: 'H', display: 'High' } : { code: 'L', display: 'Low' };
  return [{ coding: [{ system: INTERPRETATION, ...code }], text: level === 'high' ? 'Above the device\'s range' : 'Below the device\'s range' }];
}

/**
 * A value the device could not measure (docs/messages.md#values-a-device-could-not-measure: `HI`, `LO`, `>22.2`, ""): `>22.2` is a quantity
 * with its comparator, anything else a data-absent reason carrying the device's text; the first
 * such value also carries interpretation H or L where the device said which.
 */
function absentValue(name: string, out: OutOfRange): ValueParts {
  const first = out.names[0] === name;
  const parts: ValueParts = {};
  const match = first ? COMPARATOR.exec(out.text) : null;
  const unit = DEFAULT_UNITS[name];
  if (match) {
    parts.valueQuantity = { comparator: COMPARATORS[match[1] as string], ...quantity({ value: Number(match[2]), unit: unit ?? '' }) };
  } else {
    const text = first ? (out.text.trim() === '' ? 'the device sent no value' : `the device showed "${out.text}"`) : 'not measured';
    parts.dataAbsentReason = { coding: [{ system: DATA_ABSENT_REASON, code: 'unknown', display: 'Unknown' }], text };
  }
  if (first && out.level) parts.interpretation = interpretation(out.level);
  return parts;
}

function outOfRangeOf(reading: Reading, primary: string | undefined): OutOfRange | undefined {
  const context = reading.context ?? {};
  if (typeof context.resultText !== 'string') return undefined;
  const level = context.outOfRange === 'high' || context.outOfRange === 'low' ? context.outOfRange : undefined;
  let names = Array.isArray(context.unmeasured) ? context.unmeasured.filter((n): n is string => typeof n === 'string') : [];
  if (names.length === 0 && reading.kind === 'datapoint') {
    // a data point of one field: its name is where the device's text is kept (context.other)
    const other = (context.other ?? {}) as Record<string, unknown>;
    names = Object.keys(other).filter((n) => other[n] === context.resultText || other[n] === null);
  }
  if (names.length === 0 && primary) names = [primary];
  return { text: context.resultText, ...(level && { level }), names };
}

// --- the Observation -------------------------------------------------------------------------

function rowFor(kind: Kind, name: string, unit: string, specimen: unknown): CodeRow | undefined {
  if (kind === 'datapoint') return undefined;
  const row = findCode(kind, name, unit, specimen);
  if (!row && hasCodeFor(kind, name)) {
    throw new FhirMappingError('unit', `health-fhir: no LOINC code for ${kind} value "${name}" in unit "${unit}"${specimen ? ` (specimen ${String(specimen)})` : ''}`);
  }
  return row;
}

function attachments(reading: Reading): DocumentReference[] {
  const context = reading.context ?? {};
  const docs: DocumentReference[] = [];
  const add = (id: string, url: unknown, title: string): void => {
    if (typeof url !== 'string' || url.trim() === '') return;
    const contentType = /\.pdf(?:$|\?)/i.test(url) ? 'application/pdf' : undefined;
    docs.push({ resourceType: 'DocumentReference', id, status: 'current', description: title, content: [{ attachment: { url, title, ...(contentType && { contentType }) } }] });
  };
  const what = reading.kind === 'ecg' ? 'ECG' : 'Oximetry';
  add('recording', context.fileUrl, `${what} recording (${reading.vendor})`);
  add('report', context.reportUrl, `${what} report (${reading.vendor})`);
  return docs;
}

export interface Links {
  subject?: Reference;
  device?: Reference;
}

export function buildObservation(reading: Reading, options: ResolvedOptions, links: Links): Observation {
  const rule = KIND_RULES[reading.kind];
  if (!rule) throw new FhirMappingError('unknown-kind', `health-fhir: readings of kind "${String(reading.kind)}" have no FHIR mapping`);
  const context = reading.context ?? {};
  const specimen = context.specimen;
  const values = reading.values ?? {};
  const declared = Array.isArray(context.unmeasured) ? (context.unmeasured as unknown[]) : [];

  // the value the Observation is named after: the first of the kind's order the device sent or tried
  const isThere = (name: string): boolean => name in values || declared.includes(name);
  const primary = rule.panel ? undefined : rule.order.find(isThere) ?? (rule.order.length === 1 ? rule.order[0] : undefined);
  const out = outOfRangeOf(reading, primary);
  const absent = new Set(out?.names ?? []);

  // every value name, in the kind's order, then any the table does not list
  const names = [...rule.order.filter((n) => n in values || absent.has(n))];
  for (const name of [...Object.keys(values), ...absent]) if (!names.includes(name)) names.push(name);

  const partsOf = (name: string): { row: CodeRow | undefined; parts: ValueParts } => {
    const q = values[name];
    const unit = q ? q.unit : (DEFAULT_UNITS[name] ?? '');
    const row = rowFor(reading.kind, name, unit, specimen);
    return { row, parts: q ? { valueQuantity: quantity(q) } : absentValue(name, out as OutOfRange) };
  };

  const observation: Observation = {
    resourceType: 'Observation',
    identifier: [{ system: options.readingSystem, value: reading.id }],
    status: context.valid === false ? 'preliminary' : 'final',
    code: { text: '' },
    effectiveDateTime: reading.time,
  };
  if (rule.category) observation.category = [{ coding: [categoryCoding(rule.category)] }];

  let codeRow: CodeRow | undefined;
  const components: ObservationComponent[] = [];
  if (reading.kind === 'datapoint') {
    const other = (context.other ?? {}) as Record<string, unknown>;
    const texts = Object.keys(other).filter((n) => !absent.has(n));
    const all = [...names, ...texts];
    if (all.length === 0) throw new FhirMappingError('no-values', `health-fhir: reading ${reading.id} has no values`);
    observation.code = { text: all.join(', ') };
    if (all.length === 1 && names.length === 1) {
      Object.assign(observation, partsOf(names[0] as string).parts);
    } else {
      for (const name of names) components.push({ code: { text: name }, ...partsOf(name).parts });
      for (const name of texts) components.push({ code: { text: name }, ...textValue(other[name]) });
    }
  } else {
    if (names.length === 0) throw new FhirMappingError('no-values', `health-fhir: reading ${reading.id} has no values`);
    if (rule.panel) {
      codeRow = findCode(reading.kind, '*');
      observation.code = concept(codeRow, reading.kind);
    } else {
      const main = primary ?? (names[0] as string);
      const { row, parts } = partsOf(main);
      codeRow = row;
      observation.code = concept(row, main);
      Object.assign(observation, parts);
    }
    for (const name of names) {
      if (name === primary) continue;
      const { row, parts } = partsOf(name);
      components.push({ code: concept(row, name), ...parts });
    }
  }

  if (reading.kind === 'sleep') {
    const stages = (context.stageSeconds ?? {}) as Record<string, unknown>;
    for (const [stage, seconds] of Object.entries(stages)) {
      if (typeof seconds !== 'number') continue;
      const row = findCode('sleep', `stage:${stage}`);
      components.push({ code: row ? concept(row, stage) : { text: `${stage} sleep duration` }, valueQuantity: quantity({ value: seconds, unit: 's' }) });
    }
  }
  if (components.length) observation.component = components;
  // the reading is out of range: say so on the Observation too, when a component carries it
  if (out?.level && !observation.interpretation) observation.interpretation = interpretation(out.level);

  if (links.subject) observation.subject = links.subject;
  if (links.device) observation.device = links.device;

  const docs = attachments(reading);
  if (docs.length) {
    observation.contained = docs;
    observation.derivedFrom = docs.map((doc) => ({ reference: `#${doc.id}`, type: 'DocumentReference' }));
  }
  if (typeof context.diagnosis === 'string' && context.diagnosis.trim() !== '') {
    const code = context.diagnosisCode !== undefined ? ` (code ${String(context.diagnosisCode)})` : '';
    observation.note = [{ text: `${reading.vendor} analysis${code}: ${context.diagnosis}` }];
  }

  // the vital-signs profile where the kind is a vital sign; it requires a subject, so a reading
  // without a patient (pii: drop) claims only the base Observation
  if (rule.category === 'vital-signs' && codeRow?.vitalSign && links.subject) {
    observation.meta = { profile: [VITAL_SIGNS_PROFILE, ...(codeRow.profile ? [codeRow.profile] : [])] };
  }
  return orderKeys(observation);
}

function textValue(value: unknown): ValueParts {
  if (typeof value === 'boolean') return { valueBoolean: value };
  if (typeof value === 'string') return { valueString: value };
  return { valueString: JSON.stringify(value) };
}

/** FHIR's usual element order, so the JSON reads as the specification prints it. */
const ORDER = [
  'resourceType', 'meta', 'contained', 'identifier', 'status', 'category', 'code', 'subject', 'effectiveDateTime',
  'valueQuantity', 'valueString', 'valueBoolean', 'dataAbsentReason', 'interpretation', 'note', 'device', 'derivedFrom', 'component',
];
function orderKeys(observation: Observation): Observation {
  const source = observation as unknown as Record<string, unknown>;
  return Object.fromEntries(ORDER.filter((k) => source[k] !== undefined).map((k) => [k, source[k]])) as unknown as Observation;
}
