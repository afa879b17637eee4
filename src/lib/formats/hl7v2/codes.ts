import type { Kind, Reading } from '../../reading';

/**
 * The codes an ORU^R01 carries: the kind's LOINC in OBR-4, each value's LOINC in OBX-3.
 *
 * A minimal table of its own for now: the FHIR mapping (src/lib/formats/fhir/) keeps one too, and
 * both are to read one table. The codes are those of SPEC §7 where it names one; every other row
 * names its LOINC entry (https://loinc.org/<code>). Where LOINC has no code that fits (an Expeed
 * data point, a body impedance, the duration of an SpO2 or ECG recording), the code is local:
 * coding system `L` (HL7 table 0396, "local general code"), the code our value or kind name.
 */

export interface Coding {
  code: string;
  display: string;
  /** `LN` (LOINC) or `L` (local). */
  system: 'LN' | 'L';
  /** A second coding of the same concept (OBX-3.4–6), e.g. SpO2 2708-6 with 59408-5. */
  alternate?: { code: string; display: string; system: 'LN' };
}

const ln = (code: string, display: string, alternate?: Coding['alternate']): Coding =>
  alternate ? { code, display, system: 'LN', alternate } : { code, display, system: 'LN' };
const local = (code: string, display: string): Coding => ({ code, display, system: 'L' });

const SPO2 = ln('2708-6', 'Oxygen saturation in Arterial blood', {
  // SPEC §7: 2708-6 with 59408-5 (the vital-signs profile carries both)
  code: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry', system: 'LN',
});

/** Glucose by specimen and unit (SPEC §7). A reading without specimen is a meter's (capillary). */
function glucoseCoding(reading: Reading): Coding {
  const interstitial = reading.context?.specimen === 'interstitial';
  const mass = reading.values.glucose?.unit === 'mg/dL';
  if (interstitial) {
    return mass
      ? ln('99504-3', 'Glucose [Mass/volume] in Interstitial fluid')
      : ln('105272-9', 'Glucose [Moles/volume] in Interstitial fluid');
  }
  return mass
    ? ln('41653-7', 'Glucose [Mass/volume] in Capillary blood by Glucometer')
    : ln('14743-9', 'Glucose [Moles/volume] in Capillary blood by Glucometer');
}

/** Lipids: moles (mmol/L, the vendors' unit) or mass (mg/dL). */
function lipid(moles: Coding, mass: Coding) {
  return (reading: Reading, name: string): Coding => (reading.values[name]?.unit === 'mg/dL' ? mass : moles);
}

type ValueCoding = Coding | ((reading: Reading, name: string) => Coding);

/** Value name → OBX-3 (SPEC §3 value names). */
const VALUES: Record<string, ValueCoding> = {
  glucose: (reading) => glucoseCoding(reading),
  systolic: ln('8480-6', 'Systolic blood pressure'),
  diastolic: ln('8462-4', 'Diastolic blood pressure'),
  meanArterial: ln('8478-0', 'Mean blood pressure'),
  pulse: ln('8867-4', 'Heart rate'),
  weight: ln('29463-7', 'Body weight'),
  bmi: ln('39156-5', 'Body mass index (BMI) [Ratio]'),
  bodyFat: ln('41982-0', 'Percentage of body fat Measured'),
  impedance: local('impedance', 'Body impedance'),
  heartRate: ln('8867-4', 'Heart rate'),
  spo2: SPO2,
  pulseRate: ln('8889-8', 'Heart rate by Pulse oximetry'),
  temperature: ln('8310-5', 'Body temperature'),
  cholesterol: lipid(
    ln('14647-2', 'Cholesterol [Moles/volume] in Serum or Plasma'),
    ln('2093-3', 'Cholesterol [Mass/volume] in Serum or Plasma'),
  ),
  triglycerides: lipid(
    ln('14927-8', 'Triglyceride [Moles/volume] in Serum or Plasma'),
    ln('2571-8', 'Triglyceride [Mass/volume] in Serum or Plasma'),
  ),
  hdl: lipid(
    ln('14646-4', 'Cholesterol in HDL [Moles/volume] in Serum or Plasma'),
    ln('2085-9', 'Cholesterol in HDL [Mass/volume] in Serum or Plasma'),
  ),
  ldl: lipid(
    ln('22748-8', 'Cholesterol in LDL [Moles/volume] in Serum or Plasma'),
    ln('2089-1', 'Cholesterol in LDL [Mass/volume] in Serum or Plasma'),
  ),
  steps: ln('55423-8', 'Number of steps in unspecified time Pedometer'),
};

/** Kind → OBR-4. */
const KINDS: Record<Kind, Coding | ((reading: Reading) => Coding)> = {
  glucose: glucoseCoding,
  blood_pressure: ln('85354-9', 'Blood pressure panel with all children optional'),
  weight: ln('29463-7', 'Body weight'),
  body_composition: local('body_composition', 'Body composition'),
  heart_rate: ln('8867-4', 'Heart rate'),
  spo2: SPO2,
  temperature: ln('8310-5', 'Body temperature'),
  ecg: ln('11524-6', 'EKG study'),
  sleep: ln('93832-4', 'Sleep duration'),
  blood_lipids: ln('24331-1', 'Lipid 1996 panel - Serum or Plasma'),
  datapoint: local('datapoint', 'Device data point'),
};

/** The one value of a single-value kind: what a reading without values could not measure. */
export const SINGLE_VALUE: Partial<Record<Kind, string>> = {
  glucose: 'glucose',
  weight: 'weight',
  heart_rate: 'heartRate',
  spo2: 'spo2',
  temperature: 'temperature',
};

export function kindCoding(reading: Reading): Coding {
  const coding = KINDS[reading.kind];
  return typeof coding === 'function' ? coding(reading) : coding;
}

/**
 * OBX-3 of a value. `duration` is the sleep's own LOINC in a sleep reading, a local code elsewhere
 * (the length of an SpO2 or ECG recording); a name we do not know (an Expeed data point keeps the
 * device's names) is a local code of that name.
 */
export function valueCoding(reading: Reading, name: string): Coding {
  if (name === 'duration') {
    return reading.kind === 'sleep' ? ln('93832-4', 'Sleep duration') : local('duration', 'Recording duration');
  }
  const coding = reading.kind === 'datapoint' ? undefined : VALUES[name];
  if (!coding) return local(name, name);
  return typeof coding === 'function' ? coding(reading, name) : coding;
}
