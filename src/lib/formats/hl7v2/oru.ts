import { randomBytes } from 'node:crypto';
import { outOfRangeOf } from '../../measured';
import { notAReading, type Reading } from '../../reading';
import { MappingError } from '../contract';
import { MSH18, isAscii, type Charset } from './charset';
import { SINGLE_VALUE, kindCoding, valueCoding, type Coding } from './codes';
import { escapeHl7 } from './escape';
import { DEFAULT_PATIENT_ID_TYPE, PATIENT_DEFAULTS, VENDOR_ID_TYPE, patientOf, vendorAuthority } from '../patient';
import { KIND_RULES } from '../codes';
import { hl7Time, utcTime } from './time';

/**
 * A reading → one HL7 v2 ORU^R01 (docs/hospital.md#hl7-v2): MSH, PID, OBR, one OBX per value; segments joined by
 * `\r`. The whole mapping is in this file; the codes are in codes.ts.
 */

export const HL7_VERSIONS = ['2.5.1', '2.3.1'] as const;
export type Hl7Version = (typeof HL7_VERSIONS)[number];
/** MSH-12 of a node that names none. */
export const DEFAULT_HL7_VERSION: Hl7Version = '2.5.1';

export interface OruOptions {
  sendingApplication?: string;
  sendingFacility?: string;
  receivingApplication?: string;
  receivingFacility?: string;
  /** The `subject` field that identifies the patient (PID-3), or `auto` (the default: ../patient.ts). */
  patientField?: string;
  /** A reading of no patient fails with `no-patient` (default true); false: no PID. */
  requirePatient?: boolean;
  /** PID-3.4 of the hospital's id, the assigning authority (none when empty); the base of a vendor id's. */
  patientAuthority?: string;
  /** PID-3.5 of the hospital's id, the identifier type code (default `PI`). */
  patientIdType?: string;
  /** MSH-12, default DEFAULT_HL7_VERSION. */
  version?: Hl7Version;
  /** The charset MSH-18 names when the message is not ASCII, default `utf-8` (hl7-send rewrites it to its own). */
  charset?: Charset;
  /** MSH-7; for tests. */
  now?: () => Date;
  /** MSH-10; for tests. Default: 20 random hex digits (MSH-10 holds 20 characters). */
  controlId?: () => string;
}

/** Every code an Hl7MappingError carries (health-hl7's own codes add `invalid-config`). */
export const HL7_MAPPING_ERROR_CODES = ['event', 'not-a-reading', 'unknown-kind', 'version', 'number', 'no-patient'] as const;
export type Hl7ErrorCode = (typeof HL7_MAPPING_ERROR_CODES)[number];

/** The failures no retry can mend: the same reading never maps, however often it is pushed. */
export const HL7_NOT_RETRYABLE: ReadonlySet<Hl7ErrorCode> = new Set(['unknown-kind', 'number', 'no-patient']);

/** Why a message cannot become an ORU^R01; `code` says which case (health-hl7 translates it). */
export class Hl7MappingError extends MappingError<Hl7ErrorCode> {
  constructor(code: Hl7ErrorCode, message: string) {
    super(code, message, HL7_NOT_RETRYABLE);
    this.name = 'Hl7MappingError';
  }
}

export const newControlId = (): string => randomBytes(10).toString('hex');

const FIELD = '|';
const ENCODING = '^~\\&';

/** Fields of one segment; trailing empty fields are left off. */
function segment(name: string, fields: Array<string | undefined>): string {
  const values = fields.map((field) => field ?? '');
  while (values.length && values[values.length - 1] === '') values.pop();
  return [name, ...values].join(FIELD);
}

/** Components, each escaped; trailing empty components are left off. */
function components(...parts: Array<string | number | undefined>): string {
  const values = parts.map((part) => (part === undefined ? '' : escapeHl7(String(part))));
  while (values.length && values[values.length - 1] === '') values.pop();
  return values.join('^');
}

function coded(coding: Coding): string {
  const { alternate } = coding;
  return alternate
    ? components(coding.code, coding.display, coding.system, alternate.code, alternate.display, alternate.system)
    : components(coding.code, coding.display, coding.system);
}

/** NM: digits, an optional sign and decimal point; never an exponent. */
export function hl7Number(value: number): string {
  if (!Number.isFinite(value)) throw new Hl7MappingError('number', `not a finite number: ${value}`);
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return value.toFixed(20).replace(/\.?0+$/, '');
}

/** What a reading could not measure: `[name, text, flag]` per value (docs/messages.md#values-a-device-could-not-measure, measured.ts). */
function unmeasuredOf(reading: Reading): Array<{ name: string; text: string; flag?: 'H' | 'L' }> {
  const context = reading.context ?? {};
  const resultText = context.resultText;
  if (typeof resultText !== 'string') return [];
  const other = (typeof context.other === 'object' && context.other !== null ? context.other : {}) as Record<string, unknown>;
  let names = Array.isArray(context.unmeasured) ? context.unmeasured.filter((n): n is string => typeof n === 'string') : [];
  if (!names.length) {
    const single = SINGLE_VALUE[reading.kind]
      ?? Object.keys(other).find((name) => other[name] === resultText || (resultText === '' && other[name] === null));
    names = [single ?? 'value'];
  }
  return names
    .filter((name) => !(name in reading.values))
    .map((name, index) => {
      const sent = other[name];
      const text = index === 0 ? resultText : typeof sent === 'string' ? sent : '';
      const range = index === 0 && (context.outOfRange === 'high' || context.outOfRange === 'low')
        ? context.outOfRange
        : outOfRangeOf(text);
      const flag = range === 'high' ? 'H' : range === 'low' ? 'L' : undefined;
      return flag ? { name, text, flag } : { name, text };
    });
}

/**
 * The ORU^R01 of one reading. Throws Hl7MappingError for an event or anything else that is not a
 * reading. No part of the reading is put in an error message.
 */
export function toOruR01(reading: Reading, options: OruOptions = {}): string {
  const problem = notAReading(reading);
  if (problem) throw new Hl7MappingError(problem.code, problem.message);
  if (!Object.prototype.hasOwnProperty.call(KIND_RULES, reading.kind)) {
    throw new Hl7MappingError('unknown-kind', `readings of kind "${String(reading.kind)}" have no HL7 mapping`);
  }
  const version = options.version ?? DEFAULT_HL7_VERSION;
  if (!(HL7_VERSIONS as readonly string[]).includes(version)) {
    throw new Hl7MappingError('version', `HL7 version must be one of ${HL7_VERSIONS.join(', ')}`);
  }
  const time = hl7Time(reading.time);
  const now = utcTime((options.now ?? (() => new Date()))());
  const controlId = (options.controlId ?? newControlId)();
  const status = reading.context?.valid === false ? 'P' : 'F';
  const device = reading.device?.sn ?? reading.device?.id;

  const patient = patientOf(reading, options.patientField);
  if (!patient && options.requirePatient !== false) {
    throw new Hl7MappingError('no-patient', `a ${reading.vendor} reading names no patient by patientField "${options.patientField || PATIENT_DEFAULTS.patientField}"`);
  }
  const name = reading.subject?.name;
  const segments: string[] = [];

  // PID-3 (CX): the id, then CX-4 the assigning authority and CX-5 the identifier type. The
  // hospital's id stands under the node's authority and type; a vendor's own id under an authority
  // of its vendor and field, so that no two kinds of id meet in the HIS's patient index.
  const cx = patient === undefined
    ? undefined
    : patient.hospital
      ? components(patient.value, undefined, undefined, options.patientAuthority || undefined, options.patientIdType || DEFAULT_PATIENT_ID_TYPE)
      : components(patient.value, undefined, undefined, vendorAuthority(patient, options.patientAuthority), VENDOR_ID_TYPE);
  const pid = cx !== undefined || (name !== undefined && name !== '')
    ? segment('PID', [
      '1',
      undefined,
      cx,
      undefined,
      // the name only where the reading carries one (after the receiver's pii policy); a Chinese
      // name is one string, so it stands whole in the family name component
      name === undefined || name === '' ? undefined : components(name),
    ])
    : undefined;
  if (pid) segments.push(pid);

  segments.push(segment('OBR', [
    '1', undefined, components(reading.id), coded(kindCoding(reading)), undefined, undefined, time,
    ...new Array<undefined>(17), status,
  ]));

  let setId = 0;
  const obx = (type: 'NM' | 'ST', coding: Coding, value: string, unit: string | undefined, flag: string | undefined, result: string) =>
    segment('OBX', [
      String(++setId), type, coded(coding), undefined, value, unit, undefined, flag, undefined, undefined, result,
      undefined, undefined, time, undefined, undefined, undefined, device === undefined ? undefined : components(device),
    ]);

  for (const [valueName, quantity] of Object.entries(reading.values)) {
    const unit = quantity.unit ? components(quantity.unit, undefined, 'UCUM') : undefined;
    segments.push(obx('NM', valueCoding(reading, valueName), hl7Number(quantity.value), unit, undefined, status));
  }
  for (const { name: valueName, text, flag } of unmeasuredOf(reading)) {
    // a device that sent nothing at all: "results cannot be obtained" (HL7 table 0085, X)
    segments.push(obx('ST', valueCoding(reading, valueName), escapeHl7(text), undefined, flag, text === '' ? 'X' : status));
  }

  const body = segments.join('\r');
  const header = (charset: string | undefined): string => segment('MSH', [
    ENCODING,
    components(options.sendingApplication),
    components(options.sendingFacility),
    components(options.receivingApplication),
    components(options.receivingFacility),
    now,
    undefined,
    version === '2.3.1' ? 'ORU^R01' : 'ORU^R01^ORU_R01',
    controlId,
    'P',
    version,
    undefined, undefined, undefined, undefined, undefined,
    charset,
  ]);
  const ascii = header(undefined);
  // MSH-1 is the field separator itself: "MSH|^~\&|…"; MSH-18 where the message is not ASCII
  const msh = isAscii(ascii) && isAscii(body) ? ascii : header(MSH18[options.charset ?? 'utf-8']);
  return `${msh}\r${body}`;
}
