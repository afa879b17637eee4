/** Viatom's unit spellings and their UCUM codes: what a reading's `unit` says (docs/messages.md). */


/** Viatom's unit spellings → UCUM. A unit not listed here is passed on as Viatom wrote it. */
const UCUM_UNITS = new Map<string, string>([
  ['mmhg', 'mm[Hg]'],
  ['mm[hg]', 'mm[Hg]'],
  ['kpa', 'kPa'],
  ['bpm', '/min'],
  ['/min', '/min'],
  ['1/min', '/min'],
  ['次/分', '/min'],
  ['次/分钟', '/min'],
  ['beats/min', '/min'],
  ['cel', 'Cel'],
  ['℃', 'Cel'],
  ['°c', 'Cel'],
  ['c', 'Cel'],
  ['℉', '[degF]'],
  ['°f', '[degF]'],
  ['f', '[degF]'],
  ['[degf]', '[degF]'],
  ['%', '%'],
  ['mmol/l', 'mmol/L'],
  ['mg/dl', 'mg/dL'],
  ['kg', 'kg'],
  ['lb', '[lb_av]'],
  ['lbs', '[lb_av]'],
  ['kg/m2', 'kg/m2'],
  ['kg/m²', 'kg/m2'],
  ['kg/m^2', 'kg/m2'],
  ['s', 's'],
  ['sec', 's'],
  ['秒', 's'],
  ['min', 'min'],
]);

/** The UCUM unit of a vendor unit; `fallback` when the vendor gave none. */
export function ucumUnit(unit: string | null | undefined, fallback: string): string {
  const trimmed = (unit ?? '').trim();
  if (trimmed === '') return fallback;
  return UCUM_UNITS.get(trimmed.toLowerCase()) ?? trimmed;
}