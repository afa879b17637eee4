import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startFhirServer, type FhirServer } from './harness/fhir-server';
import { postJson, request } from './harness/http';
import { freePort, NodeRed } from './harness/node-red';
import { installPackedPackage, packageJson } from './harness/package';

/**
 * The example flows as a user meets them: the tarball installed into a fresh Node-RED, every file
 * of its examples/ imported and deployed (with the sandbox's sample credentials, as `npm start`
 * does), and the sandbox of the same installed package pushing into them. What is checked is what
 * the user would look at: the JSON-lines files, what the hospital API stored, the rejected pushes.
 */

type FlowNode = { id: string; type: string; z?: string; d?: boolean };

function readJsonLines(file: string): any[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the example flows, installed from the tarball and driven by the sandbox', function () {
  this.timeout(240_000);
  let nodeRed: NodeRed;
  let userDir: string;
  let packageDir: string;
  let sandbox: any;
  let fhir: FhirServer | undefined;

  before(async function () {
    ({ userDir, packageDir } = installPackedPackage());
    nodeRed = await NodeRed.start({ userDir, linkPackage: false, settings: { fileWorkingDirectory: userDir }, logLevel: 'info' });
  });
  after(async function () {
    await sandbox?.stop();
    await nodeRed?.stop();
    await fhir?.stop();
  });

  const examples = (): Array<{ file: string; nodes: FlowNode[] }> =>
    fs.readdirSync(path.join(packageDir, 'examples'))
      .filter((file) => file.endsWith('.json'))
      .map((file) => ({ file, nodes: JSON.parse(fs.readFileSync(path.join(packageDir, 'examples', file), 'utf8')) as FlowNode[] }));

  it('uses only node types this Node-RED knows, and every node of the package appears in an example', async function () {
    const nodeSets = (await request(`${nodeRed.url}/nodes`, { headers: { accept: 'application/json' } })).json as Array<{ types: string[]; enabled: boolean }>;
    const known = new Set(['tab', ...nodeSets.filter((set) => set.enabled).flatMap((set) => set.types)]);
    const all = examples();
    assert.ok(all.length >= 5, 'one example per vendor and the hospital bridge');
    for (const { file, nodes } of all) {
      const unknown = nodes.filter((node) => !known.has(node.type)).map((node) => node.type);
      assert.deepEqual(unknown, [], `${file} uses unknown node types`);
      const firstOnTab = nodes.filter((node) => node.z !== undefined).sort((a: any, b: any) => a.y - b.y)[0];
      assert.equal(firstOnTab?.type, 'comment', `${file} starts with a comment that says what to change`);
    }
    const used = new Set(all.flatMap(({ nodes }) => nodes.map((node) => node.type)));
    assert.deepEqual(Object.keys(packageJson()['node-red'].nodes).filter((type) => !used.has(type)), [], 'node types no example uses');
  });

  it('deployed together, the sandbox traffic ends up in the files, at the hospital once per reading (a CGM "HI" too, flagged high), every vendor answered at once and the hospital AEs retried by the outboxes', async function () {
    const { startSandbox } = require(path.join(packageDir, 'dist', 'sandbox', 'sandbox.js'));
    const { exampleTargets, examplesForSandbox } = require(path.join(packageDir, 'dist', 'sandbox', 'example-flows.js'));
    const sandboxPort = await freePort();
    const mllpPort = await freePort();
    // The hospital bridge's FHIR requests go to a real FHIR R4 implementation (Medplum's router and
    // validator, not ours); its HL7 v2 messages to the sandbox's MLLP listener, read back by simple-hl7.
    const fhirServer = (fhir = await startFhirServer());
    const flows = (examplesForSandbox(`http://127.0.0.1:${sandboxPort}`, { mllpPort }) as any[]).map((node) =>
      node.type === 'http request' && /\/fhir$/.test(node.url) ? { ...node, url: `${fhirServer.baseUrl}/` } : node,
    );
    assert.ok(flows.some((node) => node.url === `${fhirServer.baseUrl}/`), 'the hospital bridge posts to a FHIR base URL');
    await nodeRed.deploy(flows);
    assert.doesNotMatch(nodeRed.logs, /Waiting for missing types/);

    const lines: string[] = [];
    // every receiver of the examples gets its vendor's pushes, as in `npm start`
    const targets: Record<string, string[]> = exampleTargets(nodeRed.url);
    const hospitalVendors = Object.keys(targets).filter((vendor) => targets[vendor]!.some((url) => url.includes('/hospital/')));
    assert.ok(hospitalVendors.length >= 3, `the hospital bridge receives from ${hospitalVendors.join(', ')}`);
    sandbox = await startSandbox({
      nodeRedUrl: nodeRed.url,
      port: sandboxPort,
      targets,
      count: 16,
      intervalMs: 20,
      duplicateEvery: 5,
      hospitalFailEvery: 7,
      retryDelayMs: 100,
      mllpPort,
      log: (line: string) => lines.push(line),
    });
    await sandbox.finished;

    // What the sandbox meant to send to the hospital bridge, from its own plan (not from our nodes).
    const firstSends = sandbox.deliveries.filter((d: any) => d.attempt === 0 && !d.duplicate && d.target.includes('/hospital/'));
    const expectedKinds = new Map<string, number>();
    for (const { push } of firstSends) {
      if (push.outcome === 'readings') expectedKinds.set(push.kind, (expectedKinds.get(push.kind) ?? 0) + push.readings);
    }
    const expectedReadings = [...expectedKinds.values()].reduce((a, b) => a + b, 0);
    // A CGM value over the sensor's range ("HI") is a reading too (docs/messages.md#values-a-device-could-not-measure), not a refusal.
    const outOfRange = firstSends.filter((d: any) => d.push.vendor === 'sinocare' && d.push.body.data.testResult === 'HI');
    assert.ok(outOfRange.length >= 1, 'the traffic includes a CGM value of "HI"');
    assert.ok(sandbox.deliveries.some((d: any) => d.duplicate), 'the traffic includes duplicates');
    // the outboxes answered every push once it was on disk: the hospital's AEs never reached a vendor
    const hospitalPushes = sandbox.deliveries.filter((d: any) => d.target.includes('/hospital/'));
    assert.deepEqual(hospitalPushes.filter((d: any) => d.status !== 200).map((d: any) => `${d.push.summary} → ${d.status}`), []);
    assert.equal(hospitalPushes.filter((d: any) => d.attempt > 0).length, 0, 'no vendor had to push again');

    // The FHIR server stored every reading exactly once, despite the duplicates and the outbox's
    // deliveries again after a failure; every Observation validates against R4.
    const observations = async (): Promise<any[]> =>
      ((await fhirServer.get('/Observation?_count=1000')).body.entry ?? []).map((entry: any) => entry.resource);
    let stored: any[] = [];
    await until(
      async () => (stored = await observations()).length >= expectedReadings,
      30_000,
      `${expectedReadings} Observations at the FHIR server`,
    ).catch((error) => {
      throw new Error(`${error.message}: ${stored.length} came\n${lines.join('\n')}\n${nodeRed.logs.slice(-5000)}`);
    });
    const readingIdOf = (o: any) => o.identifier?.find((i: any) => i.system === 'urn:health-bridge:reading')?.value;
    const readingIds = stored.map(readingIdOf);
    assert.equal(stored.length, expectedReadings);
    assert.equal(new Set(readingIds).size, expectedReadings, 'no reading stored twice');
    for (const observation of stored) assert.deepEqual(await fhirServer.validate(observation), [], `Observation ${observation.code?.text} validates`);
    for (const type of ['Patient', 'Device']) {
      assert.ok(((await fhirServer.get(`/${type}?_count=1000`)).body.entry ?? []).length >= 1, `${type}s stored`);
    }
    const high = stored.filter((o) => o.interpretation?.[0]?.coding?.[0]?.code === 'H' || o.valueQuantity === undefined && o.dataAbsentReason);
    assert.ok(high.length >= outOfRange.length, 'every CGM "HI" reached the FHIR server, flagged');

    // Whose: every Observation has a subject, and its Patient carries the identifier the hospital
    // expects for that vendor's source (the sandbox's own patient rows and ids, not our nodes').
    const { SANDBOX_PATIENT_ROWS } = require(path.join(packageDir, 'dist', 'sandbox', 'patients.js'));
    const { SANDBOX_CGM_PATIENTS } = require(path.join(packageDir, 'dist', 'sandbox', 'traffic', 'sinocare.js'));
    const hospitalId = (patientId: string) => `urn:health-bridge:patient|${patientId}`;
    const rowPatients = (vendor: string) => SANDBOX_PATIENT_ROWS.filter((row: any) => row.vendor === vendor).map((row: any) => hospitalId(row.patientId));
    const expectedPatients = (observation: any): string[] => {
      const vendor = String(readingIdOf(observation)).split(':')[0];
      if (vendor === 'sinocare') return SANDBOX_CGM_PATIENTS.map((patient: any) => hospitalId(patient.patientId));
      // the scale is a device of the hospital's table; the user pushes carry the integrator's associatedId
      if (vendor === 'lezhi') return observation.code?.coding?.[0]?.code === '29463-7' ? rowPatients('lezhi') : ['urn:health-bridge:lezhi:associatedId|sandbox-user-0001'];
      return rowPatients(vendor);
    };
    const patientOf = new Map<string, string>();
    const patientIdentifier = new Map<string, any>();
    for (const observation of stored) {
      const reference = observation.subject?.reference;
      assert.ok(reference, `Observation ${readingIdOf(observation)} is filed under a patient`);
      if (!patientIdentifier.has(reference)) patientIdentifier.set(reference, (await fhirServer.get(`/${reference}`)).body.identifier?.[0]);
      const identifier = patientIdentifier.get(reference);
      const whose = `${identifier?.system}|${identifier?.value}`;
      assert.ok(expectedPatients(observation).includes(whose), `${readingIdOf(observation)} (${observation.code?.text}) under ${whose}`);
      patientOf.set(readingIdOf(observation), identifier?.value);
    }
    for (const vendor of ['sinocare', 'lezhi', 'viatom', 'expeed']) {
      assert.ok([...patientOf.keys()].some((id) => id.startsWith(`${vendor}:`)), `readings of ${vendor} reached the FHIR server`);
    }
    // both Expeed thermometers went to their own patients
    const expeedPatients = new Set([...patientOf].filter(([id]) => id.startsWith('expeed:')).map(([, patient]) => patient));
    assert.equal(expeedPatients.size, 2);

    // The HL7 v2 interface accepted the same readings, once each, and they parse to the same values.
    let accepted: any[] = [];
    await until(async () => (accepted = sandbox.hospitalMllp.accepted()).length >= expectedReadings, 30_000, `${expectedReadings} readings accepted over MLLP`);
    assert.deepEqual(new Set(accepted.map((m: any) => m.readingId)), new Set(readingIds), 'the same readings over MLLP as in FHIR');
    assert.ok(sandbox.hospitalMllp.messages.some((m: any) => m.ack === 'AE'), 'the hospital rejected some messages once (AE)');
    const hl7 = require('simple-hl7');
    const parser = new hl7.Parser();
    for (const message of accepted) {
      const parsed = parser.parse(message.text.replace(/\n/g, '\r'));
      // simple-hl7 counts MSH fields from MSH-3 (its header has no separator fields): MSH-9 is 7
      assert.equal(parsed.header.getComponent(7, 1), 'ORU');
      // PID-3: the same patient as in FHIR (simple-hl7 counts PID fields from 1)
      const pid = parsed.getSegment('PID');
      assert.ok(pid, `ORU^R01 of ${message.readingId} has a PID`);
      assert.equal(pid.getComponent(3, 1), patientOf.get(message.readingId), `PID-3 of ${message.readingId}`);
      if (message.readingId.startsWith('lezhi:') && patientOf.get(message.readingId) === 'sandbox-user-0001') {
        assert.equal(pid.getComponent(3, 4), 'HB-LEZHI-ASSOCIATEDID', 'a vendor id has an assigning authority of its own');
      }
      const obx = parsed.getSegments('OBX');
      const fhirObservation = stored[readingIds.indexOf(message.readingId)];
      const value = fhirObservation?.valueQuantity?.value;
      if (typeof value === 'number') {
        assert.ok(obx.some((segment: any) => Number(segment.getField(5)) === value), `OBX-5 of ${message.readingId} has the value FHIR stored`);
      }
    }
    // a reading the hospital answered AE was sent again by the HL7 outbox until it was accepted
    const refusedOnce = sandbox.hospitalMllp.messages.filter((m: any) => m.ack === 'AE').map((m: any) => m.readingId);
    assert.ok(refusedOnce.length >= 1);
    for (const readingId of refusedOnce) assert.ok(accepted.some((m: any) => m.readingId === readingId), `${readingId} accepted after its AE`);

    // Every delivery ended with success (the sandbox pushes any other answer again).
    const last = new Map<string, any>();
    for (const d of sandbox.deliveries) last.set(`${d.target}|${JSON.stringify(d.push.body)}|${d.duplicate}`, d);
    for (const d of last.values()) {
      assert.equal(d.status, 200, `${d.push.vendor} ${d.push.summary} → ${d.target}`);
      assert.equal(d.acknowledged, true, `${d.push.vendor} ${d.push.summary} → ${d.target}`);
    }

    // One JSON-lines file per kind, each reading in it.
    const dataDir = path.join(userDir, 'health-bridge-data');
    for (const [kind, count] of expectedKinds) {
      const written = readJsonLines(path.join(dataDir, `readings-${kind}.jsonl`));
      assert.deepEqual(new Set(written.map((r) => r.kind)), new Set([kind]));
      assert.equal(new Set(written.map((r) => r.id)).size, count, `distinct ${kind} readings in the file`);
    }

    // A push answered with an error would be kept with its status, reason and raw body: here there
    // is none (the outboxes took the hospital's failures; a CGM "HI" is a reading, not a refusal),
    // and nothing was given up on (dead letters).
    const readIfThere = (file: string): any[] => (fs.existsSync(file) ? readJsonLines(file) : []);
    assert.ok(lines.some((line) => /MLLP refused .* with AE/.test(line)), 'the sandbox says it answered AE');
    assert.deepEqual(readIfThere(path.join(dataDir, 'rejected.jsonl')), []);
    assert.deepEqual(readIfThere(path.join(dataDir, 'dead-letters.jsonl')), []);
    const events = readJsonLines(path.join(dataDir, 'events.jsonl'));
    assert.ok(events.some((e) => e.vendor === 'viatom' && e.event === 'authorized'));

    // Expeed's pushes reached its example (after the URL handshake) and the hospital bridge, and were all acknowledged.
    const expeed = sandbox.deliveries.filter((d: any) => d.push.vendor === 'expeed');
    assert.equal(expeed.filter((d: any) => !d.duplicate).length, 16 * targets.expeed!.length);
    assert.deepEqual(new Set(expeed.map((d: any) => d.status)), new Set([200]));

    // A reading nobody can place (a thermometer no row names) is kept in quarantine.jsonl, not
    // sent, and the vendor hears success at once: it will not push it again and again.
    const stray = { device_id: 'thermo-99', device_key: 'unknown-device-key', msg_type: '2', data: [{ timestamp: '2026-12-07T08-00-00-000', temp: 22.5, humidity: 50 }] };
    const strayUrl = targets.expeed!.find((url) => url.includes('/hospital/'))!;
    const strayAnswer = await postJson(strayUrl, stray);
    assert.equal(strayAnswer.status, 200, strayAnswer.text);
    const quarantineFile = path.join(dataDir, 'quarantine.jsonl');
    await until(async () => readIfThere(quarantineFile).length >= 2, 10_000, 'the stray reading in quarantine.jsonl (FHIR and HL7)');
    const quarantined = readIfThere(quarantineFile);
    assert.deepEqual(new Set(quarantined.map((line) => line.code)), new Set(['no-patient']));
    assert.ok(quarantined.every((line) => line.reading?.device?.id === 'thermo-99'), 'only the stray reading is in quarantine');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.ok(!(await observations()).some((o) => String(readingIdOf(o)).includes('thermo-99')), 'nothing of it at the FHIR server');
    assert.ok(!sandbox.hospitalMllp.messages.some((m: any) => String(m.readingId).includes('thermo-99')), 'nothing of it over MLLP');

    // One line per push, and none names the patient.
    assert.ok(lines.some((line) => /sinocare +glucose .* → \/hospital\/sinocare 200/.test(line)));
    const output = lines.join('\n');
    for (const personal of ['王小明', '110101199001010011', '13800138000', 'P0000001']) assert.ok(!output.includes(personal), 'no personal data in the sandbox output');
    for (const vendor of hospitalVendors) assert.ok(lines.some((line) => line.includes(`/hospital/${vendor} 200`)), vendor);
  });

  it('the inject buttons of the Viatom and Expeed examples work against the sandbox, as the debug sidebar shows', async function () {
    // What the editor does: a click on an inject button is POST /inject/<id>; the debug sidebar
    // listens on the comms websocket.
    const WebSocket = require('ws');
    const socket = new WebSocket(`${nodeRed.url.replace('http', 'ws')}/comms`);
    const shown: Array<{ name: string; msg: string }> = [];
    socket.on('message', (data: Buffer) => {
      for (const event of [JSON.parse(data.toString())].flat()) if (event.topic === 'debug') shown.push(event.data);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ subscribe: 'debug' }));
    try {
      const press = async (injectId: string, debugName: string): Promise<any> => {
        const before = shown.length;
        assert.equal((await request(`${nodeRed.url}/inject/${injectId}`, { method: 'POST' })).status, 200);
        await until(() => shown.slice(before).some((event) => event.name === debugName), 10_000, `"${debugName}" in the debug sidebar`);
        return JSON.parse(shown.slice(before).find((event) => event.name === debugName)!.msg);
      };
      const page = await press('viatom.ask', 'open this URL');
      assert.match(page.url, /^http:\/\/127\.0\.0\.1:\d+\/auth\/#\/\?sign=/);
      assert.deepEqual(await press('viatom.cancelask', 'cancelled'), { cancelled: true });
      await until(() => shown.some((event) => event.name === 'authorization events' && /deauthorized/.test(event.msg)), 10_000, 'the deauthorization push');
      assert.equal((await press('expeed.statusask', 'status')).online, true);
      const history = await press('expeed.historyask', 'history page');
      assert.equal(history.length, 100);
      assert.deepEqual(new Set(history.map((r: any) => r.kind)), new Set(['datapoint']));
      const setting = await press('expeed.setask', 'setting result');
      assert.equal(setting.success, true);
      assert.match((await press('expeed.tokenask', 'use with http request')).accessToken, /^[0-9a-f]{32}$/);
      assert.equal(shown.filter((event) => event.name === 'errors').length, 0, shown.filter((event) => event.name === 'errors').map((e) => e.msg).join('\n'));
    } finally {
      socket.close();
    }
  });

  it('the sandbox command of the installed package pushes to a Node-RED and prints a line per push', async function () {
    const bin = path.join(userDir, 'node_modules', '.bin', 'health-bridge-sandbox');
    const { stdout } = await promisify(execFile)(
      bin,
      ['--node-red', nodeRed.url, '--vendors', 'lezhi', '--count', '3', '--interval', '0.05', '--port', String(await freePort())],
      { timeout: 60_000 },
    );
    assert.equal(stdout.split('\n').filter((line) => /lezhi +.* → \/lezhi 200$/.test(line)).length, 3);
    assert.match(stdout, /sandbox done: 3 deliveries, 3 acknowledged/);
    const refused = await promisify(execFile)(bin, ['--vendors', 'fitbit']).catch((error: { code: number; stderr: string }) => error);
    assert.equal((refused as { code: number }).code, 2);
    assert.match((refused as { stderr: string }).stderr, /unknown vendor "fitbit"/);
  });
});
