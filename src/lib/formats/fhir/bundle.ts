import { createHash } from 'node:crypto';
import type { Reading } from '../../reading';
import {
  buildObservation, deviceIdentifier, deviceResource, patientIdentifier, patientResource,
  type Device, type Identifier, type Observation, type Patient,
} from './observation';
import type { ResolvedOptions } from './options';

/**
 * A reading → a FHIR R4 transaction Bundle (docs/hospital.md#fhir-r4): the Patient and the Device as conditional
 * creates on their identifiers, the Observation as a conditional create on the reading's id. A
 * vendor retry or an outbox re-delivery posts the same Bundle again and the server finds all
 * three: nothing is stored twice.
 *
 * The `urn:uuid:` full URLs are UUIDs derived from what each resource is (type, system and
 * identifier; RFC 4122 version 5), not random: the same reading gives the same Bundle byte for
 * byte, however often it is sent, and a Patient has the same full URL in every Bundle.
 */

export type BundleEntry = {
  fullUrl: string;
  resource: Patient | Device | Observation;
  request: { method: 'POST'; url: string; ifNoneExist: string };
};

export interface TransactionBundle {
  resourceType: 'Bundle';
  type: 'transaction';
  entry: BundleEntry[];
}

/** Our namespace for version-5 UUIDs (a random UUID, fixed once). */
const NAMESPACE = '5b0f3a52-8c1d-4e27-9a4e-3f1c2d7b9e60';

/** RFC 4122 §4.3: a name-based (SHA-1) UUID, version 5. */
export function uuidV5(name: string, namespace = NAMESPACE): string {
  const bytes = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * One part of a token search parameter: FHIR's escapes (`\`, `|`, `,`, `$`) and then URL encoding,
 * keeping `:` and `/` readable (a reading id is `viatom:<data_tag>`, and a base64 tag may hold `+`).
 */
function tokenPart(text: string): string {
  return encodeURIComponent(text.replace(/[\\|,$]/g, (c) => `\\${c}`)).replace(/%3A/gi, ':').replace(/%2F/gi, '/');
}

/** `identifier=<system>|<value>`, the condition of a conditional create. */
export function identifierCondition(identifier: Identifier): string {
  return `identifier=${tokenPart(identifier.system)}|${tokenPart(identifier.value)}`;
}

function entryOf(resource: Patient | Device | Observation, identifier: Identifier): BundleEntry {
  return {
    fullUrl: `urn:uuid:${uuidV5(`${resource.resourceType}|${identifier.system}|${identifier.value}`)}`,
    resource,
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: identifierCondition(identifier) },
  };
}

/**
 * The Observation's subject where the hospital's Patient must already exist (`patient:
 * reference`): a conditional reference the server resolves when it stores the Observation, or
 * refuses (no match, or several) so that the failure reaches the flow.
 */
export function conditionalPatientReference(identifier: Identifier): { reference: string; type: 'Patient' } {
  return { reference: `Patient?${identifierCondition(identifier)}`, type: 'Patient' };
}

export function buildBundle(reading: Reading, options: ResolvedOptions): TransactionBundle {
  const entries: BundleEntry[] = [];
  const patientId = patientIdentifier(reading, options);
  const device = deviceIdentifier(reading, options);
  let patientEntry: BundleEntry | undefined;
  let deviceEntry: BundleEntry | undefined;
  if (patientId && options.patient === 'create') patientEntry = entryOf(patientResource(reading, patientId), patientId);
  if (device) deviceEntry = entryOf(deviceResource(device), device.identifier);
  const subject = patientEntry
    ? { reference: patientEntry.fullUrl, type: 'Patient' }
    : patientId ? conditionalPatientReference(patientId) : undefined;
  const observation = buildObservation(reading, options, {
    ...(subject && { subject }),
    ...(deviceEntry && { device: { reference: deviceEntry.fullUrl, type: 'Device' } }),
  });
  if (patientEntry) entries.push(patientEntry);
  if (deviceEntry) entries.push(deviceEntry);
  entries.push(entryOf(observation, observation.identifier[0] as Identifier));
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}
