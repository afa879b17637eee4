import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { bodyFixture, placed } from './harness/flows';
import { postJson, request } from './harness/http';
import { NodeRed, type SinkMessage } from './harness/node-red';

/**
 * health-patient in a real Node-RED, fed by the real receivers over HTTP: Expeed data pushes
 * matched by device, by the reading's own time; assignments by message that survive a restart,
 * stored encrypted; a Viatom authorization binding a member by phone; the CSV file followed on
 * disk; and patient ids kept out of the exported flow and the log.
 */

const TABLE_PATIENT = 'MRN-TABLE-0001';
const LATER_PATIENT = 'MRN-LATER-0002';
const ASSIGNED_PATIENT = 'MRN-ASSIGNED-0003';
const VIATOM_PATIENT = 'MRN-VIATOM-0004';
const FILE_PATIENTS = ['MRN-FILE-0005', 'MRN-FILE-0006', 'MRN-FILE-0007'];
const ALL_PATIENTS = [TABLE_PATIENT, LATER_PATIENT, ASSIGNED_PATIENT, VIATOM_PATIENT, ...FILE_PATIENTS];
const VIATOM_PHONE = '15312345678';

interface FlowOptions {
  rows?: object[];
  file?: string;
  viatomPii?: string;
}

/**
 * expeed-in and viatom-in → health-patient → two sinks; a test-source for run-time messages, and
 * a Catch, a Status and a Complete node scoped to health-patient.
 */
function patientFlow(options: FlowOptions = {}): object[] {
  const tab = 'tab-hp';
  const sink = (name: string): object => ({ id: `hp-${name}`, z: tab, type: 'test-sink', name: `hp/${name}`, wires: [[]] });
  return placed([
    { id: tab, type: 'tab', label: 'health-patient' },
    { id: 'hp-catch', z: tab, type: 'catch', scope: ['hp'], uncaught: false, wires: [['hp-errors']] },
    sink('errors'),
    { id: 'hp-status', z: tab, type: 'status', scope: ['hp'], wires: [['hp-statuses']] },
    sink('statuses'),
    { id: 'hp-complete', z: tab, type: 'complete', scope: ['hp'], uncaught: false, wires: [['hp-completed']] },
    sink('completed'),
    { id: 'rx-expeed', z: tab, type: 'expeed-in', name: '', path: '/expeed', credentials: { key: '', piiKey: '' }, wires: [['hp'], ['hp']] },
    {
      id: 'rx-viatom', z: tab, type: 'viatom-in', name: '', path: '/viatom', pii: options.viatomPii ?? 'keep',
      credentials: { key: '', piiKey: options.viatomPii === 'pseudonymize' ? 'pii-secret' : '' }, wires: [['hp'], ['hp']],
    },
    { id: 'hp-source', z: tab, type: 'test-source', name: 'hp/in', wires: [['hp']] },
    {
      id: 'hp', z: tab, type: 'health-patient', name: '', file: options.file ?? '', version: 1,
      credentials: { sources: options.rows ? JSON.stringify(options.rows) : '' },
      wires: [['hp-matched'], ['hp-unmatched']],
    },
    sink('matched'),
    sink('unmatched'),
  ]);
}

/** An Expeed data push of one data point of `device` at the wall-clock `timestamp` (Asia/Shanghai). */
const expeedPush = (device: string, timestamp: string, value = 36.6): object => ({
  msg_type: '2', device_id: device, data: [{ timestamp, temp: value }],
});

/** Polls `condition` (a busy machine may take a while), then fails with `what`. */
async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The last status health-patient showed. */
const lastStatus = (nodeRed: NodeRed): { fill?: string; text?: string } | undefined =>
  nodeRed.messages.filter((m) => m.sink === 'hp/statuses').at(-1)?.msg.status;

const patientOf = (message: SinkMessage | undefined): unknown => message?.msg.payload?.subject?.patientId;
const sourceOf = (message: SinkMessage | undefined): unknown => message?.msg.payload?.context?.patientSource;

describe('health-patient in a running Node-RED, fed over HTTP', function () {
  this.timeout(120_000);
  let nodeRed: NodeRed;

  before(async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' } });
  });
  after(async function () {
    await nodeRed?.stop();
  });
  beforeEach(async function () {
    await nodeRed.clearMessages();
  });

  it('gives Expeed readings the patient of their device, by the time they were measured: before the row\'s from → output 2', async function () {
    await nodeRed.deploy(patientFlow({
      rows: [
        { vendor: 'expeed', field: 'device', value: 'dev-001', patientId: TABLE_PATIENT },
        { vendor: 'expeed', field: 'device', value: 'thermo-02', patientId: LATER_PATIENT, from: '2017-02-13T13:00:00+08:00' },
      ],
    }));
    const fixture = await postJson(`${nodeRed.url}/expeed`, bodyFixture('expeed', 'data'));
    assert.equal(fixture.status, 200);
    const matched = await nodeRed.waitForMessages(2, 'hp/matched');
    for (const message of matched) {
      assert.equal(patientOf(message), TABLE_PATIENT);
      assert.equal(sourceOf(message), 'table');
      assert.equal(message.msg.payload.device.id, 'dev-001');
    }

    // measured at 12:00 (Asia/Shanghai), the device was assigned from 13:00
    assert.equal((await postJson(`${nodeRed.url}/expeed`, expeedPush('thermo-02', '2017-02-13T12-00-00-000'))).status, 200);
    const [early] = await nodeRed.waitForMessages(1, 'hp/unmatched');
    assert.equal(early?.msg.payload.device.id, 'thermo-02');
    assert.equal(patientOf(early), undefined, 'output 2 leaves the reading as it came');
    assert.equal(early?.msg.topic, 'expeed/datapoint');

    assert.equal((await postJson(`${nodeRed.url}/expeed`, expeedPush('thermo-02', '2017-02-13T13-30-00-000'))).status, 200);
    const later = await nodeRed.waitForMessages(3, 'hp/matched');
    assert.equal(patientOf(later[2]), LATER_PATIENT);

    // events go on output 1 as they came
    assert.equal((await postJson(`${nodeRed.url}/expeed`, bodyFixture('expeed', 'status-online'))).status, 200);
    const withEvent = await nodeRed.waitForMessages(4, 'hp/matched');
    assert.equal(withEvent[3]?.msg.topic, 'expeed/online');

    await eventually(() => lastStatus(nodeRed)?.text === '2 sources, 1 unmatched', 'the status "2 sources, 1 unmatched"');

    const flows = await request(`${nodeRed.url}/flows`, { headers: { 'Node-RED-API-Version': 'v1' } });
    assert.equal(flows.status, 200);
    for (const patient of [TABLE_PATIENT, LATER_PATIENT]) assert.equal(flows.text.includes(patient), false, 'the exported flow carries no patient id');
    assert.equal(flows.text.includes('thermo-02'), false, 'nor the rows');
  });

  it('keeps an assignment made by a message across a restart, encrypted on disk; a new one closes it', async function () {
    await nodeRed.deploy(patientFlow());
    nodeRed.inject('hp/in', {
      topic: 'health-patient/assign', user: 'ward-nurse-7',
      payload: { vendor: 'expeed', field: 'device', value: 'bed-12-thermo', patientId: ASSIGNED_PATIENT, from: '2017-02-13T08:00:00+08:00' },
    });
    await nodeRed.waitForMessages(1, 'hp/completed');
    assert.deepEqual(nodeRed.messages.filter((m) => m.sink === 'hp/errors'), []);
    assert.match(nodeRed.logs, /assignment made by ward-nurse-7 at \S+ \(expeed device\)/);

    const file = path.join(nodeRed.userDir, 'health-bridge', 'patients-hp.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    const onDisk = fs.readFileSync(file, 'utf8');
    assert.equal(onDisk.includes(ASSIGNED_PATIENT), false, 'no patient id in clear on disk');
    assert.equal(onDisk.includes('bed-12-thermo'), false, 'nor the device');

    nodeRed = await nodeRed.restart();
    await nodeRed.clearMessages();
    assert.equal((await postJson(`${nodeRed.url}/expeed`, expeedPush('bed-12-thermo', '2017-02-13T09-00-00-000'))).status, 200);
    const [after] = await nodeRed.waitForMessages(1, 'hp/matched');
    assert.equal(patientOf(after), ASSIGNED_PATIENT, 'the assignment held after the restart');
    assert.equal(sourceOf(after), 'assigned');

    // Started with another key, the kept rows cannot be read: a reading fails (the vendor is told
    // so and pushes again) rather than go on under the vendor's id or none; with the key back, it
    // is the assigned patient's again.
    const userDir = nodeRed.userDir;
    await nodeRed.stop();
    nodeRed = await NodeRed.start({ userDir, settings: { lang: 'en-US' }, env: { HEALTH_BRIDGE_KEY: 'ab'.repeat(32) } });
    assert.equal((await postJson(`${nodeRed.url}/expeed`, expeedPush('bed-12-thermo', '2017-02-13T09-15-00-000'))).status, 200);
    const [unreadable] = await nodeRed.waitForMessages(1, 'hp/errors');
    assert.equal(unreadable?.msg.error.code, 'rows-unreadable');
    assert.deepEqual(await nodeRed.settledMessages('hp/matched'), []);
    assert.deepEqual(await nodeRed.settledMessages('hp/unmatched'), []);
    await nodeRed.stop();
    nodeRed = await NodeRed.start({ userDir, settings: { lang: 'en-US' } });
    assert.equal((await postJson(`${nodeRed.url}/expeed`, expeedPush('bed-12-thermo', '2017-02-13T09-15-00-000'))).status, 200);
    assert.equal(patientOf((await nodeRed.waitForMessages(1, 'hp/matched'))[0]), ASSIGNED_PATIENT, 'the right key back: matched again');
    await nodeRed.clearMessages();

    // the bed gets a new patient at 10:00: a reading from 09:30 is still the first one's
    nodeRed.inject('hp/in', {
      topic: 'health-patient/assign',
      payload: { vendor: 'expeed', field: 'device', value: 'bed-12-thermo', patientId: LATER_PATIENT, from: '2017-02-13T10:00:00+08:00' },
    });
    await nodeRed.waitForMessages(1, 'hp/completed');
    assert.equal((await postJson(`${nodeRed.url}/expeed`, expeedPush('bed-12-thermo', '2017-02-13T09-30-00-000'))).status, 200);
    assert.equal((await postJson(`${nodeRed.url}/expeed`, expeedPush('bed-12-thermo', '2017-02-13T10-30-00-000'))).status, 200);
    const matched = await nodeRed.waitForMessages(2, 'hp/matched');
    assert.deepEqual(matched.map(patientOf), [ASSIGNED_PATIENT, LATER_PATIENT]);

    // unassigned at 11:00: a reading after that has no patient
    nodeRed.inject('hp/in', { topic: 'health-patient/unassign', payload: { vendor: 'expeed', field: 'device', value: 'bed-12-thermo', until: '2017-02-13T11:00:00+08:00' } });
    await nodeRed.waitForMessages(2, 'hp/completed');
    assert.equal((await postJson(`${nodeRed.url}/expeed`, expeedPush('bed-12-thermo', '2017-02-13T11-30-00-000'))).status, 200);
    await nodeRed.waitForMessages(1, 'hp/unmatched');
    assert.match(nodeRed.logs, /assignment ended by this node at/);

    // a row that is not one: refused, with the column named and no value repeated
    nodeRed.inject('hp/in', { topic: 'health-patient/assign', payload: { vendor: 'expeed', field: 'bed', value: 'bed-12-thermo', patientId: ASSIGNED_PATIENT } });
    const [refused] = await nodeRed.waitForMessages(1, 'hp/errors');
    assert.match(refused?.msg.error.message, /field/);
    assert.equal(JSON.stringify(refused?.msg.error).includes(ASSIGNED_PATIENT), false);
  });

  it('binds a Viatom member to the patient of the phone row its authorization names', async function () {
    await nodeRed.deploy(patientFlow({ rows: [{ vendor: 'viatom', field: 'phone', value: `+86 ${VIATOM_PHONE}`, patientId: VIATOM_PATIENT }] }));
    const member = bodyFixture('viatom', 'authorized').member_id as string;
    const reading = { ...bodyFixture('viatom', 'blood-pressure'), member_id: member, data_tag: 'patient-test-bp-1' };

    // before the authorization, nothing names the member
    assert.equal((await postJson(`${nodeRed.url}/viatom`, reading)).status, 200);
    await nodeRed.waitForMessages(1, 'hp/unmatched');

    assert.equal((await postJson(`${nodeRed.url}/viatom`, bodyFixture('viatom', 'authorized'))).status, 200);
    const [event] = await nodeRed.waitForMessages(1, 'hp/matched');
    assert.equal(event?.msg.topic, 'viatom/authorized', 'the event is passed on');
    assert.equal((await postJson(`${nodeRed.url}/viatom`, { ...reading, data_tag: 'patient-test-bp-2' })).status, 200);
    const matched = await nodeRed.waitForMessages(2, 'hp/matched');
    assert.equal(patientOf(matched[1]), VIATOM_PATIENT);
    assert.equal(sourceOf(matched[1]), 'viatom-authorized');
    assert.match(nodeRed.logs, /a Viatom member was bound to the patient of its phone/);

    // the cancellation ends the binding (from its time on: later readings have no patient)
    const cancel = { ...bodyFixture('viatom', 'deauthorized'), member_id: member, create_time: '2024-01-01 00:00:00' };
    assert.equal((await postJson(`${nodeRed.url}/viatom`, cancel)).status, 200);
    await nodeRed.waitForMessages(3, 'hp/matched');
    assert.equal((await postJson(`${nodeRed.url}/viatom`, { ...reading, data_tag: 'patient-test-bp-3' })).status, 200);
    await nodeRed.waitForMessages(2, 'hp/unmatched');
  });

  it('warns at deploy when the Viatom receiver upstream hides the phone', async function () {
    const before = nodeRed.logs.length;
    await nodeRed.deploy(patientFlow({ viatomPii: 'mask' }));
    await eventually(
      () => /receiver viatom-in rx-viatom \(pii: mask\) hides the phone of a Viatom authorization/.test(nodeRed.logs.slice(before)),
      'the warning naming the receiver',
    );
  });

  it('follows the CSV file: a change, a rename over it; a broken file keeps the last good table and says why without its values', async function () {
    const file = path.join(nodeRed.userDir, 'patients.csv');
    const csv = (patient: string): string => `vendor,field,value,patientId\nexpeed,device,csv-thermo,${patient}\n`;
    fs.writeFileSync(file, csv(FILE_PATIENTS[0]!));
    await nodeRed.deploy(patientFlow({ file: 'patients.csv' }));
    let pushes = 0;
    const patientNow = async (): Promise<unknown> => {
      pushes++;
      assert.equal((await postJson(`${nodeRed.url}/expeed`, expeedPush('csv-thermo', '2017-02-13T12-00-00-000', pushes))).status, 200);
      const matched = await nodeRed.waitForMessages(pushes, 'hp/matched');
      assert.equal(sourceOf(matched[pushes - 1]), 'file');
      return patientOf(matched[pushes - 1]);
    };
    /** Until the file is read again (the log says so), then the patient a reading gets. */
    const afterReload = async (reloads: number): Promise<unknown> => {
      await eventually(() => (nodeRed.logs.match(/CSV file read again/g)?.length ?? 0) >= reloads, `reload ${reloads} of the file`, 15_000);
      return patientNow();
    };
    assert.equal(await patientNow(), FILE_PATIENTS[0]);

    fs.writeFileSync(file, csv(FILE_PATIENTS[1]!));
    assert.equal(await afterReload(1), FILE_PATIENTS[1], 'changed in place');

    fs.writeFileSync(`${file}.new`, csv(FILE_PATIENTS[2]!));
    fs.renameSync(`${file}.new`, file);
    assert.equal(await afterReload(2), FILE_PATIENTS[2], 'replaced by a rename');

    const logged = nodeRed.logs.length;
    fs.writeFileSync(file, `vendor,field,value,patientId\nexpeed,device,csv-thermo,${FILE_PATIENTS[0]},2026\n`);
    await eventually(() => /the CSV file was not read/.test(nodeRed.logs.slice(logged)), 'the warning about the broken file', 15_000);
    const warning = nodeRed.logs.slice(logged);
    assert.match(warning, /the CSV file was not read: line 2: more cells than the header has columns; the last good table \(1 rows\) stays in use/);
    assert.equal(await patientNow(), FILE_PATIENTS[2], 'the last good table stays');
    await eventually(() => /CSV file not read/.test(lastStatus(nodeRed)?.text ?? ''), 'the status saying the file was not read');
  });

  it('never writes a patient id into the log', function () {
    for (const patient of ALL_PATIENTS) assert.equal(nodeRed.logs.includes(patient), false, 'a patient id in the log');
    assert.equal(nodeRed.logs.includes(VIATOM_PHONE), false, 'a phone in the log');
  });
});

describe('health-patient without an at-rest key', function () {
  this.timeout(120_000);
  let nodeRed: NodeRed;

  before(async function () {
    nodeRed = await NodeRed.start({ settings: { lang: 'en-US' }, env: { HEALTH_BRIDGE_KEY: undefined, HEALTH_BRIDGE_KEY_FILE: undefined } });
  });
  after(async function () {
    await nodeRed?.stop();
  });

  it('refuses assignments with an error and a red status, and still matches the table', async function () {
    await nodeRed.deploy(patientFlow({ rows: [{ vendor: 'expeed', field: 'device', value: 'dev-9', patientId: TABLE_PATIENT }] }));
    await eventually(() => /no at-rest key \(neither HEALTH_BRIDGE_KEY nor HEALTH_BRIDGE_KEY_FILE is set\)/.test(nodeRed.logs), 'the warning at deploy');
    nodeRed.inject('hp/in', { topic: 'health-patient/assign', payload: { vendor: 'expeed', field: 'device', value: 'dev-10', patientId: ASSIGNED_PATIENT } });
    const [refused] = await nodeRed.waitForMessages(1, 'hp/errors');
    assert.match(refused?.msg.error.message, /assignment refused: there is no at-rest key \(HEALTH_BRIDGE_KEY or HEALTH_BRIDGE_KEY_FILE\) to keep it encrypted/);
    assert.equal(refused?.msg.error.code, 'no-key');
    assert.equal(fs.existsSync(path.join(nodeRed.userDir, 'health-bridge', 'patients-hp.json')), false, 'nothing stored in clear');
    await eventually(() => /no at-rest key: assignments refused/.test(lastStatus(nodeRed)?.text ?? ''), 'the status saying why');
    assert.equal(lastStatus(nodeRed)?.fill, 'red');

    assert.equal((await postJson(`${nodeRed.url}/expeed`, expeedPush('dev-9', '2017-02-13T12-00-00-000'))).status, 200);
    const [matched] = await nodeRed.waitForMessages(1, 'hp/matched');
    assert.equal(patientOf(matched), TABLE_PATIENT);
  });
});
