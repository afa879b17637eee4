import type { Kind } from '../reading';

/**
 * The code tables of the hospital formats, kept once, as data, with the source of every row (STYLE:
 * "Code tables are data"): the FHIR mapping (fhir/observation.ts) and the HL7 v2 mapping
 * (hl7v2/codes.ts) both read them; `codeTableMarkdown()` renders them for the README, so the
 * README cannot drift from what the nodes send.
 */

export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
export const DATA_ABSENT_REASON = 'http://terminology.hl7.org/CodeSystem/data-absent-reason';

const VITALS = 'http://hl7.org/fhir/R4/observation-vitalsigns.html';
/** A row Health Bridge chose itself (its reasons in docs/hospital.md#codes), beside the pages it follows. */
const CHOSEN = 'Health Bridge';
const loincPage = (code: string): string => `https://loinc.org/${code}`;
const both = (code: string): string => `${CHOSEN}; ${VITALS}; ${loincPage(code)}`;

export const VITAL_SIGNS_PROFILE = 'http://hl7.org/fhir/StructureDefinition/vitalsigns';
const profileUrl = (name: string): string => `http://hl7.org/fhir/StructureDefinition/${name}`;

export interface Coding {
  system: string;
  code: string;
  display: string;
}

/** One code: what a value (or a whole reading, for a panel) is called in FHIR. */
export interface CodeRow {
  /** The reading's `kind` the row is for; undefined: every kind with this value name. */
  kind?: Kind;
  /** The value name in `reading.values` (docs/messages.md), or `*` for the panel code of the kind. */
  value: string;
  /** Only for this UCUM unit (LOINC codes are per property: moles and mass differ). */
  unit?: string;
  /** Only for this `context.specimen`. */
  specimen?: 'capillary' | 'interstitial';
  /** LOINC codings, the first the main one; empty where we know no LOINC term (then `text` only). */
  codings: Coding[];
  /** `code.text`. */
  text: string;
  /** A code of the R4 vital-signs profile: an Observation with it (and a subject) claims `vitalsigns`. */
  vitalSign?: true;
  /** The specific R4 vital-signs profile it also claims (bodyweight, heartrate, …). */
  profile?: string;
  /** Where the code comes from. */
  source: string;
}

const loinc = (code: string, display: string): Coding => ({ system: LOINC, code, display });

/** Every code we send, most specific first (the first row that matches wins). */
export const CODE_ROWS: readonly CodeRow[] = [
  // glucose: the LOINC term depends on the specimen and on moles vs mass
  { kind: 'glucose', value: 'glucose', specimen: 'interstitial', unit: 'mmol/L', codings: [loinc('105272-9', 'Glucose [Moles/volume] in Interstitial fluid')], text: 'Glucose (CGM, interstitial fluid)', source: `${CHOSEN}; ${loincPage('105272-9')}` },
  { kind: 'glucose', value: 'glucose', specimen: 'interstitial', unit: 'mg/dL', codings: [loinc('99504-3', 'Glucose [Mass/volume] in Interstitial fluid')], text: 'Glucose (CGM, interstitial fluid)', source: `${CHOSEN}; ${loincPage('99504-3')}` },
  { kind: 'glucose', value: 'glucose', specimen: 'capillary', unit: 'mmol/L', codings: [loinc('14743-9', 'Glucose [Moles/volume] in Capillary blood by Glucometer')], text: 'Glucose (capillary blood, meter)', source: `${CHOSEN}; ${loincPage('14743-9')}` },
  { kind: 'glucose', value: 'glucose', specimen: 'capillary', unit: 'mg/dL', codings: [loinc('41653-7', 'Glucose [Mass/volume] in Capillary blood by Glucometer')], text: 'Glucose (capillary blood, meter)', source: `${CHOSEN}; ${loincPage('41653-7')}` },
  // blood pressure: the panel with its components
  { kind: 'blood_pressure', value: '*', codings: [loinc('85354-9', 'Blood pressure panel with all children optional')], text: 'Blood pressure', vitalSign: true, source: both('85354-9') },
  // (not claimed: the R4 `bp` profile. Our panel has what it asks, but @medplum/core's validator
  // cannot match its component slices, which sit on a nested code.coding slice, and fails even the
  // specification's own blood pressure example, so a claim would make a Medplum server refuse it.)
  { value: 'systolic', codings: [loinc('8480-6', 'Systolic blood pressure')], text: 'Systolic blood pressure', source: both('8480-6') },
  { value: 'diastolic', codings: [loinc('8462-4', 'Diastolic blood pressure')], text: 'Diastolic blood pressure', source: both('8462-4') },
  { value: 'meanArterial', codings: [loinc('8478-0', 'Mean blood pressure')], text: 'Mean blood pressure', source: `${VITALS} (vital-signs value set); ${loincPage('8478-0')}` },
  { value: 'pulse', codings: [loinc('8867-4', 'Heart rate')], text: 'Pulse (blood pressure monitor)', source: `${VITALS} (heart rate); ${loincPage('8867-4')}` },
  // body
  { value: 'weight', codings: [loinc('29463-7', 'Body weight')], text: 'Body weight', vitalSign: true, profile: profileUrl('bodyweight'), source: both('29463-7') },
  { value: 'bmi', codings: [loinc('39156-5', 'Body mass index (BMI) [Ratio]')], text: 'Body mass index', vitalSign: true, profile: profileUrl('bmi'), source: both('39156-5') },
  { value: 'bodyFat', codings: [loinc('41982-0', 'Percentage of body fat Measured')], text: 'Body fat', source: `${CHOSEN}; ${loincPage('41982-0')}` },
  { value: 'impedance', codings: [], text: 'Body impedance (scale, 50 kHz)', source: 'no LOINC term chosen: code.text only (our decision)' },
  // heart, oxygen, temperature
  { value: 'heartRate', codings: [loinc('8867-4', 'Heart rate')], text: 'Heart rate', vitalSign: true, profile: profileUrl('heartrate'), source: both('8867-4') },
  { kind: 'spo2', value: 'spo2', codings: [loinc('2708-6', 'Oxygen saturation in Arterial blood'), loinc('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry')], text: 'Oxygen saturation (pulse oximetry)', vitalSign: true, profile: profileUrl('oxygensat'), source: both('59408-5') },
  { value: 'pulseRate', codings: [loinc('8889-8', 'Heart rate by Pulse oximetry')], text: 'Pulse rate (pulse oximeter)', source: loincPage('8889-8') },
  { value: 'temperature', codings: [loinc('8310-5', 'Body temperature')], text: 'Body temperature', vitalSign: true, profile: profileUrl('bodytemp'), source: both('8310-5') },
  // ECG: the study, its heart rate, its duration and files
  { kind: 'ecg', value: '*', codings: [loinc('11524-6', 'EKG study')], text: 'ECG', source: loincPage('11524-6') },
  { kind: 'ecg', value: 'duration', codings: [], text: 'ECG recording duration', source: 'no LOINC term chosen: code.text only (our decision)' },
  { kind: 'spo2', value: 'duration', codings: [], text: 'Oximetry recording duration', source: 'no LOINC term chosen: code.text only (our decision)' },
  // sleep: the total, and the time in each stage Viatom reports (context.stageSeconds)
  { kind: 'sleep', value: 'duration', codings: [loinc('93832-4', 'Sleep duration')], text: 'Sleep duration', source: loincPage('93832-4') },
  { kind: 'sleep', value: 'stage:deep', codings: [loinc('93831-6', 'Deep sleep duration')], text: 'Deep sleep duration', source: loincPage('93831-6') },
  { kind: 'sleep', value: 'stage:light', codings: [loinc('93830-8', 'Light sleep duration')], text: 'Light sleep duration', source: loincPage('93830-8') },
  { kind: 'sleep', value: 'stage:rem', codings: [loinc('93829-0', 'REM sleep duration')], text: 'REM sleep duration', source: loincPage('93829-0') },
  { kind: 'sleep', value: 'stage:awake', codings: [], text: 'Awake duration (during sleep)', source: 'no LOINC term chosen: code.text only (our decision)' },
  // lipids: a panel; serum/plasma terms (LOINC has no capillary lipid terms in wide use), moles and mass
  { kind: 'blood_lipids', value: '*', codings: [loinc('24331-1', 'Lipid 1996 panel - Serum or Plasma')], text: 'Lipid panel', source: loincPage('24331-1') },
  { value: 'cholesterol', unit: 'mmol/L', codings: [loinc('14647-2', 'Cholesterol [Moles/volume] in Serum or Plasma')], text: 'Total cholesterol', source: loincPage('14647-2') },
  { value: 'cholesterol', unit: 'mg/dL', codings: [loinc('2093-3', 'Cholesterol [Mass/volume] in Serum or Plasma')], text: 'Total cholesterol', source: loincPage('2093-3') },
  { value: 'triglycerides', unit: 'mmol/L', codings: [loinc('14927-8', 'Triglyceride [Moles/volume] in Serum or Plasma')], text: 'Triglycerides', source: loincPage('14927-8') },
  { value: 'triglycerides', unit: 'mg/dL', codings: [loinc('2571-8', 'Triglyceride [Mass/volume] in Serum or Plasma')], text: 'Triglycerides', source: loincPage('2571-8') },
  { value: 'hdl', unit: 'mmol/L', codings: [loinc('14646-4', 'Cholesterol in HDL [Moles/volume] in Serum or Plasma')], text: 'HDL cholesterol', source: loincPage('14646-4') },
  { value: 'hdl', unit: 'mg/dL', codings: [loinc('2085-9', 'Cholesterol in HDL [Mass/volume] in Serum or Plasma')], text: 'HDL cholesterol', source: loincPage('2085-9') },
  { value: 'ldl', unit: 'mmol/L', codings: [loinc('22748-8', 'Cholesterol in LDL [Moles/volume] in Serum or Plasma')], text: 'LDL cholesterol', source: loincPage('22748-8') },
  { value: 'ldl', unit: 'mg/dL', codings: [loinc('2089-1', 'Cholesterol in LDL [Mass/volume] in Serum or Plasma')], text: 'LDL cholesterol', source: loincPage('2089-1') },
  // activity (a value name of docs/messages.md no vendor sends yet)
  { value: 'steps', codings: [loinc('55423-8', 'Number of steps in unspecified time Pedometer')], text: 'Steps', source: loincPage('55423-8') },
];

export type Category = 'vital-signs' | 'laboratory' | 'procedure' | 'activity';

const CATEGORY_DISPLAY: Record<Category, string> = {
  'vital-signs': 'Vital Signs',
  laboratory: 'Laboratory',
  procedure: 'Procedure',
  activity: 'Activity',
};

export function categoryCoding(category: Category): Coding {
  return { system: OBSERVATION_CATEGORY, code: category, display: CATEGORY_DISPLAY[category] };
}

/**
 * How a kind becomes one Observation: its category, and either a panel code (`*` row; every value
 * a component) or the order in which its values are tried for the Observation's own code and
 * value (the first present one; the others become components).
 */
export interface KindRule {
  category?: Category;
  panel?: boolean;
  order: readonly string[];
  source: string;
}

export const KIND_RULES: Record<Kind, KindRule> = {
  glucose: { category: 'laboratory', order: ['glucose'], source: CHOSEN },
  blood_pressure: { category: 'vital-signs', panel: true, order: ['systolic', 'diastolic', 'meanArterial', 'pulse'], source: `${CHOSEN}; ${VITALS}` },
  weight: { category: 'vital-signs', order: ['weight', 'impedance', 'heartRate'], source: VITALS },
  body_composition: { category: 'vital-signs', order: ['bodyFat', 'weight', 'bmi'], source: VITALS },
  heart_rate: { category: 'vital-signs', order: ['heartRate'], source: VITALS },
  spo2: { category: 'vital-signs', order: ['spo2', 'pulseRate', 'duration'], source: VITALS },
  temperature: { category: 'vital-signs', order: ['temperature'], source: VITALS },
  ecg: { category: 'procedure', panel: true, order: ['heartRate', 'duration'], source: 'our decision (observation-category "procedure")' },
  sleep: { category: 'activity', order: ['duration'], source: 'our decision (observation-category "activity")' },
  blood_lipids: { category: 'laboratory', panel: true, order: ['cholesterol', 'triglycerides', 'hdl', 'ldl'], source: CHOSEN },
  // an Expeed data point: code.text = its names, no category (we do not know what it measures)
  datapoint: { order: [], source: CHOSEN },
};

/**
 * The unit the vendor normalizers fall back to, for a value the device could not measure (its
 * unit is not in `values` then): it picks the LOINC term (moles vs mass) and the comparator's unit.
 */
export const DEFAULT_UNITS: Record<string, string> = {
  glucose: 'mmol/L', systolic: 'mm[Hg]', diastolic: 'mm[Hg]', meanArterial: 'mm[Hg]', pulse: '/min',
  weight: 'kg', bmi: 'kg/m2', bodyFat: '%', impedance: 'Ohm', heartRate: '/min', spo2: '%',
  pulseRate: '/min', temperature: 'Cel', cholesterol: 'mmol/L', triglycerides: 'mmol/L', hdl: 'mmol/L',
  ldl: 'mmol/L', steps: '{steps}', duration: 's',
};

/** The row for a value (or `*`, a kind's panel), or undefined when the table has none. */
export function findCode(kind: Kind, value: string, unit?: string, specimen?: unknown): CodeRow | undefined {
  return CODE_ROWS.find(
    (row) =>
      (row.kind === undefined || row.kind === kind) &&
      row.value === value &&
      (row.unit === undefined || row.unit === unit) &&
      (row.specimen === undefined || row.specimen === specimen),
  );
}

/** True when some row names this value for this kind, in any unit: an unmatched unit is then our refusal. */
export function hasCodeFor(kind: Kind, value: string): boolean {
  return CODE_ROWS.some((row) => (row.kind === undefined || row.kind === kind) && row.value === value);
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

/** The README table: every row of CODE_ROWS with its source, in the table's order. */
export function codeTableMarkdown(): string {
  const lines = [
    '| kind | value | unit | specimen | LOINC | code.text | profile | source |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const row of CODE_ROWS) {
    const codes = row.codings.length ? row.codings.map((c) => `${c.code} ${c.display}`).join(' + ') : '—';
    lines.push(
      `| ${row.kind ?? 'any'} | ${row.value === '*' ? '(panel)' : `\`${row.value}\``} | ${row.unit ?? 'any'} | ${row.specimen ?? 'any'} | ${cell(codes)} | ${cell(row.text)} | ${row.vitalSign ? ['vitalsigns', ...(row.profile ? [row.profile.replace('http://hl7.org/fhir/StructureDefinition/', '')] : [])].join(', ') : '—'} | ${cell(row.source)} |`,
    );
  }
  lines.push('| datapoint | each name | `""` or the mapped unit | — | — | the device\'s own name | — | Health Bridge |');
  return lines.join('\n');
}
