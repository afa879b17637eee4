import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { CloudHandler, CloudRequest } from './cloud-server';
import { HospitalFaults, hold, type FaultOptions } from './hospital-faults';

/**
 * The sandbox's hospital as a FHIR R4 server (a stand-in, in memory), written from the FHIR
 * specification (http.html, search.html, bundle.html), not from our fhir library: what health-fhir
 * sends must work against it as against a real server.
 *
 * - `POST <base>` a transaction Bundle: POST entries with `request.ifNoneExist` (conditional
 *   create: an existing match is answered 200 and not stored again, two matches 412), `urn:uuid:`
 *   full URLs resolved to the ids given, all or nothing; answered with a `transaction-response`.
 * - `POST <base>/<type>` one resource, with the `If-None-Exist` header.
 * - `GET <base>/<type>?identifier=[system|]value` a searchset; `GET <base>/<type>/<id>`;
 *   `GET <base>/metadata`.
 * - A body that is not a FHIR resource: 400 with an OperationOutcome.
 * - Fails like a hospital (hospital-faults.ts): every n-th reading (an Observation identifier) is
 *   refused once with 503 and an OperationOutcome, and one answer in n is slow (stored first,
 *   answered late: a client that gives up and sends again finds it stored). Down for maintenance
 *   (`downFor`), every request is answered 503 with an OperationOutcome and a Retry-After.
 *
 * It logs one line per Observation it stores, naming the kind only: never a name, id or patient.
 */

export const FHIR_BASE_PATH = '/fhir';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export type FhirResource = Record<string, unknown> & { resourceType: string; id?: string };
type Identifier = { system?: string; value?: string };

export interface HospitalFhirOptions extends FaultOptions {
  log?: (line: string) => void;
  /** The server's base URL, for the full URLs of search results (set when the port is known). */
  baseUrl?: () => string;
  /** Seconds until the hospital is back from maintenance; 0 (or absent): it is up. */
  downFor?: () => number;
}

export interface HospitalFhir {
  handler: CloudHandler;
  /** Every resource stored, in order (with the id and meta the server gave it). */
  readonly stored: FhirResource[];
  /** How many resources of each type are stored. */
  counts(): Record<string, number>;
  /** The resources of one type matching `identifier=[system|]value`, as a search does. */
  search(type: string, identifier: string): FhirResource[];
}

class FhirError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function operationOutcome(severity: 'error' | 'fatal' | 'warning' | 'information', code: string, text: string) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics: text }] };
}

function sendFhir(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': FHIR_JSON, 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** FHIR's token escapes undone: `\|`, `\,`, `\$`, `\\` (search.html#escaping). */
const unescapeToken = (text: string): string => text.replace(/\\([\\|,$])/g, '$1');

/** `[system|]value` → the parts, split at the first `|` not escaped; system undefined when absent. */
function parseToken(token: string): { system?: string; value: string } {
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '\\') i++;
    else if (token[i] === '|') return { system: unescapeToken(token.slice(0, i)), value: unescapeToken(token.slice(i + 1)) };
  }
  return { value: unescapeToken(token) };
}

/** A query string's parameters, percent-decoded (no `+` as space: FHIR clients encode it). */
function queryParameters(query: string): Array<[string, string]> {
  return query
    .replace(/^\?/, '')
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      const name = at === -1 ? pair : pair.slice(0, at);
      const value = at === -1 ? '' : pair.slice(at + 1);
      try {
        return [decodeURIComponent(name), decodeURIComponent(value)];
      } catch {
        throw new FhirError(400, 'invalid', `the search parameter ${JSON.stringify(name)} is not percent-encoded correctly`);
      }
    });
}

const isResourceType = (value: unknown): value is string => typeof value === 'string' && /^[A-Z][A-Za-z]+$/.test(value);
const isResource = (value: unknown): value is FhirResource =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && isResourceType((value as FhirResource).resourceType);

/** The kind an Observation is of, for the log: its code's text or first display (no id, no patient). */
function kindOf(resource: FhirResource): string {
  const code = resource.code as { text?: string; coding?: Array<{ display?: string; code?: string }> } | undefined;
  return code?.coding?.[0]?.display || code?.text || code?.coding?.[0]?.code || 'Observation';
}

/** Every `reference` in a resource, rewritten by `map` (urn:uuid: → Type/id). */
function rewriteReferences(value: unknown, map: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => rewriteReferences(item, map));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === 'reference' && typeof item === 'string' && map.has(item) ? map.get(item) : rewriteReferences(item, map),
    ]),
  );
}

export function createHospitalFhir(options: HospitalFhirOptions = {}): HospitalFhir {
  const log = options.log ?? (() => undefined);
  const faults = new HospitalFaults(options);
  const stored: FhirResource[] = [];
  const byType = new Map<string, FhirResource[]>();
  const clock = (): string => new Date().toTimeString().slice(0, 8);

  function matches(type: string, conditions: Array<[string, string]>): FhirResource[] {
    let found = byType.get(type) ?? [];
    for (const [name, value] of conditions) {
      if (name === '_id') {
        found = found.filter((r) => r.id === value);
        continue;
      }
      if (name !== 'identifier') throw new FhirError(400, 'not-supported', `the sandbox searches by identifier and _id only, not by ${JSON.stringify(name)}`);
      // a comma is "or" (an escaped one is part of the value)
      const tokens = value.split(/(?<!\\),/).map(parseToken);
      found = found.filter((resource) =>
        ((resource.identifier as Identifier[] | undefined) ?? []).some((id) =>
          tokens.some((t) => t.value === id.value && (t.system === undefined || (t.system === '' ? id.system === undefined : t.system === id.system))),
        ),
      );
    }
    return found;
  }

  /** A conditional create's condition: `identifier=…` (URL-encoded, as in a query string). */
  function existing(type: string, condition: string): FhirResource | undefined {
    const found = matches(type, queryParameters(condition));
    if (found.length > 1) throw new FhirError(412, 'multiple-matches', `the condition matches ${found.length} ${type} resources`);
    return found[0];
  }

  function store(resource: FhirResource): FhirResource {
    const saved = { ...resource, id: resource.id ?? randomUUID(), meta: { ...(resource.meta as object | undefined), versionId: '1', lastUpdated: new Date().toISOString() } };
    stored.push(saved);
    const list = byType.get(saved.resourceType) ?? [];
    list.push(saved);
    byType.set(saved.resourceType, list);
    if (saved.resourceType === 'Observation') log(`${clock()}  hospital   FHIR stored Observation: ${kindOf(saved)}`);
    return saved;
  }

  const locationOf = (r: FhirResource): string => `${r.resourceType}/${r.id}/_history/1`;

  /** The reading keys of what is posted: the Observations' identifiers (undefined: none to count). */
  function readingKey(resources: FhirResource[]): string | undefined {
    const keys = resources
      .filter((r) => r.resourceType === 'Observation')
      .flatMap((r) => ((r.identifier as Identifier[] | undefined) ?? []).map((id) => `${id.system ?? ''}|${id.value ?? ''}`));
    return keys.length ? keys.sort().join(' ') : undefined;
  }

  function refused(res: ServerResponse, resources: FhirResource[]): boolean {
    const key = readingKey(resources);
    if (key === undefined || !faults.refuse(key)) return false;
    const what = resources.filter((r) => r.resourceType === 'Observation').map(kindOf).join(', ');
    log(`${clock()}  hospital   FHIR refused Observation: ${what} with 503 (a hospital outage: the sender must try again)`);
    sendFhir(res, 503, operationOutcome('error', 'transient', 'The server is temporarily unable to store this; try again later'), { 'retry-after': '1' });
    return true;
  }

  type Planned = { entry: Record<string, any>; resource: FhirResource; found?: FhirResource; id: string };

  function transaction(bundle: FhirResource): { body: unknown; created: FhirResource[] } {
    if (bundle.type !== 'transaction') throw new FhirError(400, 'invalid', `the sandbox takes Bundles of type transaction at its base, not ${JSON.stringify(bundle.type)}`);
    const entries = (Array.isArray(bundle.entry) ? bundle.entry : []) as Array<Record<string, any>>;
    const references = new Map<string, string>();
    const planned: Planned[] = entries.map((entry, index) => {
      const { request, resource } = entry;
      if (request?.method !== 'POST') throw new FhirError(400, 'not-supported', `entry ${index}: the sandbox takes POST entries only, not ${JSON.stringify(request?.method)}`);
      if (!isResource(resource)) throw new FhirError(400, 'invalid', `entry ${index} has no resource`);
      const url = String(request.url ?? '').replace(/^\/+/, '').split('?')[0];
      if (url !== resource.resourceType) throw new FhirError(400, 'invalid', `entry ${index}: request.url ${JSON.stringify(request.url)} does not name its ${resource.resourceType}`);
      const found = typeof request.ifNoneExist === 'string' && request.ifNoneExist !== '' ? existing(resource.resourceType, request.ifNoneExist) : undefined;
      const id = found?.id ?? randomUUID();
      if (typeof entry.fullUrl === 'string') references.set(entry.fullUrl, `${resource.resourceType}/${id}`);
      return { entry, resource, found, id };
    });
    // all checked: now store (a transaction is all or nothing)
    const created: FhirResource[] = [];
    const response = planned.map(({ resource, found, id }) => {
      if (found) {
        if (found.resourceType === 'Observation') log(`${clock()}  hospital   FHIR already has Observation: ${kindOf(found)} (200, nothing stored)`);
        return { response: { status: '200 OK', location: locationOf(found), etag: 'W/"1"' } };
      }
      const saved = store({ ...(rewriteReferences(resource, references) as FhirResource), id });
      created.push(saved);
      return { response: { status: '201 Created', location: locationOf(saved), etag: 'W/"1"', lastModified: (saved.meta as { lastUpdated: string }).lastUpdated } };
    });
    return { body: { resourceType: 'Bundle', id: randomUUID(), type: 'transaction-response', entry: response }, created };
  }

  function search(type: string, query: string): unknown {
    const found = matches(type, queryParameters(query).filter(([name]) => !name.startsWith('_') || name === '_id'));
    const base = options.baseUrl?.() ?? '';
    return {
      resourceType: 'Bundle',
      id: randomUUID(),
      type: 'searchset',
      total: found.length,
      entry: found.map((resource) => ({ fullUrl: `${base}${FHIR_BASE_PATH}/${type}/${resource.id}`, resource, search: { mode: 'match' } })),
    };
  }

  const handler: CloudHandler = async (request: CloudRequest, res: ServerResponse) => {
    const path = request.url.pathname.replace(/\/+$/, '');
    if (path !== FHIR_BASE_PATH && !path.startsWith(`${FHIR_BASE_PATH}/`)) return false;
    const parts = path.slice(FHIR_BASE_PATH.length).split('/').filter(Boolean);
    const downFor = options.downFor?.() ?? 0;
    if (downFor > 0) {
      sendFhir(res, 503, operationOutcome('error', 'transient', 'The server is down for maintenance; try again later'), { 'retry-after': String(Math.ceil(downFor)) });
      return true;
    }
    try {
      if (request.method === 'GET') {
        if (parts.length === 1 && parts[0] === 'metadata') {
          sendFhir(res, 200, {
            resourceType: 'CapabilityStatement', status: 'active', date: new Date().toISOString(), kind: 'instance', fhirVersion: '4.0.1',
            format: ['application/fhir+json'],
            rest: [{ mode: 'server', interaction: [{ code: 'transaction' }] }],
          });
          return true;
        }
        if (parts.length === 1 && isResourceType(parts[0])) {
          sendFhir(res, 200, search(parts[0], request.url.search));
          return true;
        }
        if (parts.length === 2 && isResourceType(parts[0])) {
          const found = (byType.get(parts[0]) ?? []).find((r) => r.id === parts[1]);
          if (found) sendFhir(res, 200, found, { etag: 'W/"1"' });
          else sendFhir(res, 404, operationOutcome('error', 'not-found', `${parts[0]}/${parts[1]} is not known`));
          return true;
        }
        throw new FhirError(404, 'not-found', 'not a FHIR interaction the sandbox knows');
      }
      if (request.method !== 'POST' || parts.length > 1) throw new FhirError(405, 'not-supported', `the sandbox does not take ${request.method} ${path}`);
      const resource = request.body;
      if (!isResource(resource)) throw new FhirError(400, 'structure', 'the body is not a FHIR resource (JSON with a resourceType)');
      if (parts.length === 0) {
        if (resource.resourceType !== 'Bundle') throw new FhirError(400, 'invalid', `POST to the base takes a transaction Bundle, not a ${resource.resourceType}`);
        const inside = ((resource.entry as Array<{ resource?: unknown }> | undefined) ?? []).map((e) => e.resource).filter(isResource);
        if (refused(res, inside)) return true;
        const { body } = transaction(resource);
        await hold(faults.delay());
        sendFhir(res, 200, body);
        return true;
      }
      const type = parts[0]!;
      if (resource.resourceType !== type) throw new FhirError(400, 'invalid', `the body is a ${resource.resourceType}, not a ${type}`);
      if (refused(res, [resource])) return true;
      const condition = request.headers['if-none-exist'];
      const found = typeof condition === 'string' && condition !== '' ? existing(type, condition) : undefined;
      if (found?.resourceType === 'Observation') log(`${clock()}  hospital   FHIR already has Observation: ${kindOf(found)} (200, nothing stored)`);
      const saved = found ?? store({ ...resource, id: randomUUID() });
      await hold(faults.delay());
      sendFhir(res, found ? 200 : 201, saved, { location: `${options.baseUrl?.() ?? ''}${FHIR_BASE_PATH}/${locationOf(saved)}`, etag: 'W/"1"' });
      return true;
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      sendFhir(res, error.status, operationOutcome('error', error.code, error.message));
      return true;
    }
  };

  return {
    handler,
    stored,
    counts: () => Object.fromEntries([...byType].map(([type, list]) => [type, list.length])),
    search: (type, identifier) => matches(type, [['identifier', identifier]]),
  };
}
