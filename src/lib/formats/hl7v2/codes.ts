import type { Reading } from '../../reading';
import { DEFAULT_UNITS, findCode, KIND_RULES, type CodeRow } from '../codes';

/**
 * The codes an ORU^R01 carries: the kind's LOINC in OBR-4, each value's LOINC in OBX-3, read from
 * the one code table of the hospital formats (src/lib/formats/codes.ts) that the FHIR mapping uses
 * too. Where the table has no LOINC term (an Expeed data point, a body impedance, the duration of
 * an SpO2 or ECG recording), the code is local: coding system `L` (HL7 table 0396, "local general
 * code"), the code our value or kind name.
 */

export interface Coding {
  code: string;
  display: string;
  /** `LN` (LOINC) or `L` (local). */
  system: 'LN' | 'L';
  /** A second coding of the same concept (OBX-3.4–6), e.g. SpO2 2708-6 with 59408-5. */
  alternate?: { code: string; display: string; system: 'LN' };
}

const local = (code: string, display: string): Coding => ({ code, display, system: 'L' });

function fromRow(row: CodeRow | undefined, localCode: string): Coding {
  const [main, second] = row?.codings ?? [];
  if (!main) return local(localCode, row?.text ?? localCode);
  const coding: Coding = { code: main.code, display: main.display, system: 'LN' };
  if (second) coding.alternate = { code: second.code, display: second.display, system: 'LN' };
  return coding;
}

/** The one value of a single-value kind: what a reading without values could not measure. */
export const SINGLE_VALUE: Partial<Record<Reading['kind'], string>> = Object.fromEntries(
  Object.entries(KIND_RULES)
    .filter(([, rule]) => !rule.panel && rule.order.length === 1)
    .map(([kind, rule]) => [kind, rule.order[0] as string]),
);

/** OBR-4: a panel's own code, else the code of the kind's main value (the first in its order). */
export function kindCoding(reading: Reading): Coding {
  const rule = KIND_RULES[reading.kind];
  if (rule.panel) return fromRow(findCode(reading.kind, '*'), reading.kind);
  const main = rule.order[0];
  return main === undefined ? local(reading.kind, 'Device data point') : valueCoding(reading, main);
}

/**
 * OBX-3 of a value. The unit picks the LOINC term (moles or mass); a value the device could not
 * measure has none, so the vendors' usual unit stands in. A glucose reading without a specimen is
 * a meter's (capillary). A name the table does not know (an Expeed data point keeps the device's
 * names) is a local code of that name.
 */
export function valueCoding(reading: Reading, name: string): Coding {
  if (reading.kind === 'datapoint') return local(name, name);
  const unit = reading.values[name]?.unit ?? DEFAULT_UNITS[name];
  const specimen = reading.context?.specimen ?? (name === 'glucose' ? 'capillary' : undefined);
  return fromRow(findCode(reading.kind, name, unit, specimen), name);
}
