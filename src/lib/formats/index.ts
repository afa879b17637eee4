import type { FormatModule } from './contract';
import { fhirFormat } from './fhir/format';
import { hl7Format } from './hl7v2/format';

/**
 * Every hospital format, kept here once: its node (src/nodes/<nodeType>.ts) registers the entry,
 * and what lists the formats (their error codes, a registry of node types) reads it from here. A
 * new format adds its module (src/lib/formats/<name>/, a FormatModule: see contract.ts) and one
 * entry below.
 */
export const FORMATS = {
  fhir: fhirFormat,
  hl7: hl7Format,
} as const satisfies Record<string, FormatModule>;

export type FormatName = keyof typeof FORMATS;

/** The node types of the formats: `health-fhir`, `health-hl7`. */
export type FormatNodeType = (typeof FORMATS)[FormatName]['nodeType'];

export type { FormatModule, Mapped } from './contract';
