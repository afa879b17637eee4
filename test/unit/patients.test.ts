import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newAtRestKeyText, Sealer } from '../../src/lib/at-rest';
import { CsvFileSource } from '../../src/lib/patients/csv-file';
import { parsePatientCsv } from '../../src/lib/patients/csv';
import { parseSourcesCredential, type PatientRow } from '../../src/lib/patients/rows';
import { RuntimeRowStore } from '../../src/lib/patients/store';
import { applyAssignment, applyUnassignment, PatientTable, viatomAuthorizationOf, type RuntimeRow } from '../../src/lib/patients/table';
import { hidingReceiversUpstream } from '../../src/lib/patients/upstream';
import type { Reading } from '../../src/lib/reading';

const ms = (iso: string): number => Date.parse(iso);

function reading(partial: Partial<Reading>): Reading {
  return {
    id: 'r1', vendor: 'expeed', kind: 'datapoint', time: '2026-05-01T10:00:00+08:00', values: {}, retry: false, receivedAt: '2026-05-01T02:00:01Z',
    ...partial,
  };
}

function rows(text: string): PatientRow[] {
  const parsed = parseSourcesCredential(text);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
  return parsed.rows;
}

describe('health-patient: rows and matching', () => {
  it('checks rows with zod and tells what is wrong by row and column, never by value', () => {
    assert.deepEqual(rows('[{"vendor":"Expeed","field":"device","value":" dev-001 ","patientId":12,"from":"2026-05-01T08:00:00+08:00"}]'), [
      { vendor: 'expeed', field: 'device', value: 'dev-001', patientId: '12', from: ms('2026-05-01T00:00:00Z') },
    ]);
    const bad = parseSourcesCredential('[{"vendor":"expeed","field":"device","value":"dev-1","patientId":"MRN-1"},{"vendor":"acme","field":"bed","value":"SECRET-VALUE","patientId":"MRN-SECRET","from":"2026-05-01 08:00"}]');
    assert.equal(bad.ok, false);
    const problem = bad.ok ? '' : bad.problem;
    assert.match(problem, /row 2\.vendor/);
    assert.match(problem, /row 2\.field/);
    assert.doesNotMatch(problem, /SECRET|acme|bed|MRN/);
    const backwards = parseSourcesCredential('[{"vendor":"lezhi","field":"userId","value":"u1","patientId":"p","from":"2026-05-02T00:00:00Z","until":"2026-05-01T00:00:00Z"}]');
    assert.equal(backwards.ok, false);
    assert.equal(parseSourcesCredential('').ok, true);
    assert.equal(parseSourcesCredential('{not json').ok, false);
  });

  it('finds each field where the vendors put it: device.sn, Expeed device.id, subject ids, phone in one form', () => {
    const table = new PatientTable();
    table.setRows('table', rows(JSON.stringify([
      { vendor: 'expeed', field: 'device', value: 'dev-001', patientId: 'P-expeed' },
      { vendor: 'viatom', field: 'device', value: '2106374387', patientId: 'P-viatom-device' },
      { vendor: 'lezhi', field: 'associatedId', value: 'A-7', patientId: 'P-lezhi' },
      { vendor: 'viatom', field: 'member_id', value: 'OA==|LTE=', patientId: 'P-member' },
      { vendor: 'sinocare', field: 'patientId', value: '12', patientId: 'MRN-12' },
      { vendor: 'lezhi', field: 'phone', value: '+86 138-0013-8000', patientId: 'P-phone' },
    ])));
    assert.deepEqual(table.match(reading({ device: { id: 'dev-001', sn: 'other' } })), { patientId: 'P-expeed', origin: 'table' });
    assert.equal(table.match(reading({ device: { id: 'x', sn: 'dev-001' } })), undefined, 'Expeed is matched by its device id');
    assert.equal(table.match(reading({ vendor: 'lezhi', device: { id: 'dev-001' } })), undefined, 'another vendor');
    assert.equal(table.match(reading({ vendor: 'viatom', device: { sn: '2106374387' } }))?.patientId, 'P-viatom-device');
    assert.equal(table.match(reading({ vendor: 'lezhi', subject: { userId: 'u', associatedId: 'A-7' } }))?.patientId, 'P-lezhi');
    assert.equal(table.match(reading({ vendor: 'viatom', device: { sn: '2106374387' }, subject: { member_id: 'OA==|LTE=' } }))?.patientId, 'P-member', 'a person before a device');
    assert.equal(table.match(reading({ vendor: 'sinocare', subject: { patientId: 12 } }))?.patientId, 'MRN-12');
    assert.equal(table.match(reading({ vendor: 'lezhi', subject: { phone: '13800138000' } }))?.patientId, 'P-phone');
    assert.equal(table.sourceCount, 6);
  });

  it('matches a reading by its own time within [from, until), and the latest from wins', () => {
    const table = new PatientTable();
    table.setRows('table', rows(JSON.stringify([
      { vendor: 'expeed', field: 'device', value: 'thermo', patientId: 'bed-1', until: '2026-05-01T12:00:00+08:00' },
      { vendor: 'expeed', field: 'device', value: 'thermo', patientId: 'bed-2', from: '2026-05-01T12:00:00+08:00' },
      { vendor: 'expeed', field: 'device', value: 'late', patientId: 'later', from: '2026-05-01T12:00:00+08:00' },
    ])));
    const at = (time: string, value = 'thermo') => table.match(reading({ time, device: { id: value } }))?.patientId;
    assert.equal(at('2026-05-01T11:59:59+08:00'), 'bed-1');
    assert.equal(at('2026-05-01T12:00:00+08:00'), 'bed-2', 'from is included, until is not');
    assert.equal(at('2026-05-01T11:00:00+08:00', 'late'), undefined, 'measured before the assignment');
    assert.equal(at('not a time', 'late'), undefined);
    table.setRows('file', rows(JSON.stringify([{ vendor: 'expeed', field: 'device', value: 'thermo', patientId: 'file-bed', from: '2026-05-01T13:00:00+08:00' }])));
    assert.deepEqual(table.match(reading({ time: '2026-05-01T14:00:00+08:00', device: { id: 'thermo' } })), { patientId: 'file-bed', origin: 'file' });
  });

  it('an assignment closes the open one at its from, the same from replaces, and unassign ends one', () => {
    const source = { vendor: 'expeed' as const, field: 'device' as const, value: 'thermo' };
    let runtime: RuntimeRow[] = [];
    runtime = applyAssignment(runtime, { ...source, patientId: 'A', from: ms('2026-05-01T00:00:00Z') }, 'assigned', 0);
    runtime = applyAssignment(runtime, { ...source, patientId: 'B', from: ms('2026-05-02T00:00:00Z') }, 'assigned', 0);
    assert.deepEqual(runtime.map((r) => [r.patientId, r.from, r.until]), [
      ['A', ms('2026-05-01T00:00:00Z'), ms('2026-05-02T00:00:00Z')],
      ['B', ms('2026-05-02T00:00:00Z'), undefined],
    ]);
    runtime = applyAssignment(runtime, { ...source, patientId: 'C', from: ms('2026-05-02T00:00:00Z') }, 'assigned', 0);
    assert.deepEqual(runtime.map((r) => r.patientId), ['A', 'C'], 'the same source and from replaces');
    // back-dated: ends where the later one starts
    runtime = applyAssignment(runtime, { ...source, patientId: 'Z', from: ms('2026-04-01T00:00:00Z') }, 'assigned', 0);
    assert.equal(runtime.find((r) => r.patientId === 'Z')?.until, ms('2026-05-01T00:00:00Z'));
    const now = ms('2026-06-01T00:00:00Z');
    assert.equal(applyAssignment([], { ...source, patientId: 'N' }, 'assigned', now)[0]?.from, now, 'from defaults to now');

    const ended = applyUnassignment(runtime, source, ms('2026-05-03T00:00:00Z'));
    assert.equal(ended.ended, 1);
    assert.equal(ended.rows.find((r) => r.patientId === 'C')?.until, ms('2026-05-03T00:00:00Z'));
    assert.equal(applyUnassignment(ended.rows, source, ms('2026-05-04T00:00:00Z')).ended, 0, 'nothing open any more');
    assert.equal(applyUnassignment(runtime, source, ms('2026-05-03T00:00:00Z'), { patientId: 'other' }).ended, 0);

    const table = new PatientTable();
    table.setRows('table', rows(JSON.stringify([{ ...source, patientId: 'table-patient' }])));
    table.setRuntimeRows(ended.rows);
    const at = (time: string) => table.match(reading({ time, device: { id: 'thermo' } }));
    assert.deepEqual(at('2026-05-01T12:00:00Z'), { patientId: 'A', origin: 'assigned' });
    assert.deepEqual(at('2026-05-02T12:00:00Z'), { patientId: 'C', origin: 'assigned' });
    assert.deepEqual(at('2026-05-05T12:00:00Z'), { patientId: 'table-patient', origin: 'table' }, 'after the unassignment, the table again');
  });

  it('reads a Viatom authorization: the member, the phone and the event time', () => {
    const auth = viatomAuthorizationOf(
      { vendor: 'viatom', event: 'authorized', time: '2022-12-29T16:33:40+08:00', subject: { account_id: 'OA==|MTEx', member_id: 'OA==|LTE=' }, data: { phone: '15312345678' } },
      0,
    );
    assert.deepEqual(auth, { member: 'OA==|LTE=', phone: '15312345678', time: ms('2022-12-29T08:33:40Z') });
    const table = new PatientTable();
    table.setRows('file', rows(JSON.stringify([{ vendor: 'viatom', field: 'phone', value: '+8615312345678', patientId: 'MRN-V' }])));
    assert.equal(table.patientOfPhone('153 1234 5678', auth.time), 'MRN-V');
    assert.equal(table.patientOfPhone('15300000000', auth.time), undefined);
  });
});

describe('health-patient: the CSV file', () => {
  it('takes a header in any order, quotes, a BOM, CRLF, blank and # lines; optional from/until', () => {
    const parsed = parsePatientCsv('\uFEFFpatientId,vendor,field,value,from\r\n# a comment\r\n\r\n"MRN, 1",expeed,device,dev-001,2026-05-01T08:00:00+08:00\r\nMRN-2,lezhi,userId,"u""2",\r\n');
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
    assert.deepEqual(parsed.rows, [
      { vendor: 'expeed', field: 'device', value: 'dev-001', patientId: 'MRN, 1', from: ms('2026-05-01T00:00:00Z') },
      { vendor: 'lezhi', field: 'userId', value: 'u"2', patientId: 'MRN-2' },
    ]);
  });

  it('says which line and column is wrong, never what it holds', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['vendor,field,value\n', /lacks the column\(s\) patientId/],
      ['vendor,field,value,patientId,bed\n', /unknown column\(s\) bed/],
      ['vendor,field,value,patientId\nexpeed,device,SECRET-DEV,MRN-SECRET\nexpeed,device,dev,MRN-SECRET,extra\n', /line 3: more cells/],
      ['vendor,field,value,patientId,from\nexpeed,device,SECRET-DEV,MRN-SECRET\nexpeed,shoe,SECRET-DEV,MRN-SECRET,2026-05-01 08:00\n', /line 3: .*field.*from/],
      ['vendor,field,value,patientId\nexpeed,device,"SECRET-DEV,MRN-SECRET\n', /line 2: a quoted cell is not closed/],
    ];
    for (const [text, expected] of cases) {
      const parsed = parsePatientCsv(text);
      assert.equal(parsed.ok, false, text);
      const problem = parsed.ok ? '' : parsed.problem;
      assert.match(problem, expected);
      assert.doesNotMatch(problem, /SECRET|shoe/);
    }
  });

  it('is read again when it changes and when another file is renamed over it; a broken file keeps the last good rows', async function () {
    this.timeout(20_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-patients-csv-'));
    const file = path.join(dir, 'patients.csv');
    fs.writeFileSync(file, 'vendor,field,value,patientId\nexpeed,device,d1,P1\n');
    const seen: Array<PatientRow[] | string> = [];
    let notify: () => void = () => undefined;
    const next = (): Promise<PatientRow[] | string> => new Promise((resolve) => {
      const count = seen.length;
      notify = () => { if (seen.length > count) resolve(seen[count]!); };
    });
    const source = new CsvFileSource({
      file, debounceMs: 50, pollMs: 200,
      onRows: (found) => { seen.push(found); notify(); },
      onProblem: (problem) => { seen.push(problem); notify(); },
    });
    try {
      await source.start();
      assert.deepEqual((seen[0] as PatientRow[]).map((r) => r.patientId), ['P1']);
      let waiting = next();
      fs.writeFileSync(file, 'vendor,field,value,patientId\nexpeed,device,d1,P2\n');
      assert.deepEqual(((await waiting) as PatientRow[]).map((r) => r.patientId), ['P2'], 'changed in place');
      waiting = next();
      fs.writeFileSync(path.join(dir, 'new.csv'), 'vendor,field,value,patientId\nexpeed,device,d1,P3\n');
      fs.renameSync(path.join(dir, 'new.csv'), file);
      assert.deepEqual(((await waiting) as PatientRow[]).map((r) => r.patientId), ['P3'], 'replaced by a rename');
      waiting = next();
      fs.writeFileSync(file, 'vendor,field,value,patientId\nexpeed,device\n');
      assert.match((await waiting) as string, /line 2/, 'a broken file is a problem, not rows');
    } finally {
      source.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('health-patient: run-time rows on disk', () => {
  it('are sealed (no id in clear), 0600 in a 0700 directory, and read back; another key cannot read them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-patients-store-'));
    const file = path.join(dir, 'health-bridge', 'patients-n1.json');
    const key = Buffer.from(newAtRestKeyText(), 'hex');
    const store = new RuntimeRowStore(file, new Sealer(key, 'patients:n1'));
    assert.deepEqual(await store.load(), []);
    const saved: RuntimeRow[] = [
      { vendor: 'expeed', field: 'device', value: 'dev-CLEAR-001', patientId: 'MRN-CLEAR-42', from: ms('2026-05-01T00:00:00Z'), origin: 'assigned' },
      { vendor: 'viatom', field: 'member_id', value: 'OA==|LTE=', patientId: 'MRN-CLEAR-43', from: ms('2026-05-02T00:00:00Z'), until: ms('2026-05-03T00:00:00Z'), origin: 'viatom-authorized' },
    ];
    await store.save(saved);
    assert.deepEqual(await store.load(), saved);
    const bytes = fs.readFileSync(file, 'utf8');
    assert.doesNotMatch(bytes, /CLEAR|OA==/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['patients-n1.json'], 'no temporary file left');
    const other = new RuntimeRowStore(file, new Sealer(Buffer.from(newAtRestKeyText(), 'hex'), 'patients:n1'));
    await assert.rejects(other.load(), (error: Error & { code?: string }) => error.code === 'undecryptable' && !/CLEAR/.test(error.message));
    fs.writeFileSync(file, 'garbage');
    await assert.rejects(store.load(), (error: Error & { code?: string }) => error.code === 'damaged');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('health-patient: receivers upstream that hide what rows match', () => {
  it('follows wires and link nodes upstream and names receivers whose pii is not keep', () => {
    const nodes = [
      { id: 'v1', type: 'viatom-in', name: 'viatom masked', pii: 'mask', wires: [['f1'], ['lo']] },
      { id: 'v2', type: 'viatom-in', name: '', pii: 'keep', wires: [['hp'], []] },
      { id: 'l1', type: 'lezhi-in', name: '', pii: '', wires: [['hp']] },
      { id: 'l2', type: 'lezhi-in', name: 'lezhi drop', pii: 'drop', wires: [['other']] },
      { id: 'f1', type: 'function', wires: [['hp']] },
      { id: 'lo', type: 'link out', links: ['li'], wires: [] },
      { id: 'li', type: 'link in', links: ['lo'], wires: [['hp']] },
      { id: 'hp', type: 'health-patient', wires: [[], []] },
    ];
    assert.deepEqual(hidingReceiversUpstream(nodes, 'hp').map((r) => [r.id, r.vendor, r.pii]), [['v1', 'viatom', 'mask']]);
  });
});
