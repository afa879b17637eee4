import type { Quantity } from '../reading';

/**
 * The unit a rule's thresholds are written in, per value name, and how a reading's value in
 * another unit is brought to it. The readings carry UCUM units (docs/messages.md): glucose in
 * mmol/L or mg/dL, blood pressure in mm[Hg] (Viatom may say kPa), temperature in Cel or [degF],
 * SpO2 in %, rates in /min. A value whose unit is "" (the vendor gave none) is taken to be in the
 * rule's unit; a value in a unit not listed here is not compared (no rule fires or resolves on it).
 */

/** Glucose: mg/dL per mmol/L (molar mass of glucose, 180.16 g/mol, over 10). */
export const GLUCOSE_MG_DL_PER_MMOL_L = 18.016;
/** Pressure: mm[Hg] per kPa. */
const MM_HG_PER_KPA = 7.50062;

type Conversion = (value: number) => number;

interface UnitOf {
  unit: string;
  from: Readonly<Record<string, Conversion>>;
}

const pressure: UnitOf = { unit: 'mm[Hg]', from: { kPa: (v) => v * MM_HG_PER_KPA } };
const lipid: UnitOf = { unit: 'mmol/L', from: {} };

const UNITS: Readonly<Record<string, UnitOf>> = {
  glucose: { unit: 'mmol/L', from: { 'mg/dL': (v) => v / GLUCOSE_MG_DL_PER_MMOL_L } },
  systolic: pressure,
  diastolic: pressure,
  meanArterial: pressure,
  temperature: { unit: 'Cel', from: { '[degF]': (v) => ((v - 32) * 5) / 9 } },
  spo2: { unit: '%', from: {} },
  lowestSpo2: { unit: '%', from: {} },
  heartRate: { unit: '/min', from: {} },
  pulse: { unit: '/min', from: {} },
  pulseRate: { unit: '/min', from: {} },
  weight: { unit: 'kg', from: { '[lb_av]': (v) => v * 0.45359237 } },
  cholesterol: lipid,
  triglycerides: lipid,
  hdl: lipid,
  ldl: lipid,
};

/** The unit thresholds of `value` are read in ("" for a value name not listed: the reading's own). */
export function ruleUnit(value: string): string {
  return UNITS[value]?.unit ?? '';
}

/**
 * The number a threshold of `value` is compared with, or undefined when the reading's unit cannot
 * be brought to the rule's. Not rounded: 70 mg/dL is 3.885 mmol/L, below a threshold of 3.9.
 */
export function inRuleUnit(value: string, quantity: Quantity): number | undefined {
  if (!Number.isFinite(quantity.value)) return undefined;
  const target = UNITS[value];
  if (!target || quantity.unit === '' || quantity.unit === target.unit) return quantity.value;
  const convert = target.from[quantity.unit];
  return convert ? convert(quantity.value) : undefined;
}
