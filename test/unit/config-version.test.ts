import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { CONFIG_VERSION, migrateConfig, STEPS, versionOf } from '../../src/lib/config-version';
import { PATIENT_DEFAULTS } from '../../src/lib/formats/patient';

/** The flows of release 0.1.0 exactly as it shipped them (its examples/), and what each step makes of them. */
const FLOWS_0_1_0 = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'flows', '0.1.0');
const nodesOf010 = (): Array<Record<string, unknown> & { type: string }> =>
  fs.readdirSync(FLOWS_0_1_0).flatMap((file) => JSON.parse(fs.readFileSync(path.join(FLOWS_0_1_0, file), 'utf8')));

describe('configuration versions', function () {
  it('reads a node saved by 0.1.0 (no version) as version 0 and brings it to the current version', function () {
    const saved = { id: 'a1', type: 'lezhi-in', path: '/lezhi', ack: 'flow' };
    assert.equal(versionOf(saved), 0);
    assert.deepEqual(migrateConfig('lezhi-in', saved), { ...saved, version: CONFIG_VERSION });
  });

  it('0 → 1: an expeed-account of 0.1.0 reads a queried device_status of 1 as online, as 0.1.0 did', function () {
    const saved = { id: 'acc', type: 'expeed-account', apiBase: 'https://api.iot-expeed.com', onlineValue: '0' };
    const migrated: Record<string, unknown> = migrateConfig('expeed-account', saved);
    assert.equal(migrated.queryOnlineValue, '1');
    assert.equal(migrated.onlineValue, '0');
    assert.equal(migrated.version, CONFIG_VERSION);
  });

  it('leaves a value the user set alone, and changes nothing of a node already at the current version', function () {
    const chosen = { id: 'acc', type: 'expeed-account', queryOnlineValue: '0' };
    assert.equal(migrateConfig('expeed-account', chosen).queryOnlineValue, '0');
    const current = { id: 'acc', type: 'expeed-account', version: CONFIG_VERSION, queryOnlineValue: '' };
    assert.deepEqual(migrateConfig('expeed-account', current), current);
  });

  it('keeps the HL7 version of a health-hl7 written with its documented property names: its configuration version is configVersion', function () {
    const written = { id: 'h', type: 'health-hl7', version: '2.3.1', configVersion: CONFIG_VERSION };
    assert.deepEqual(migrateConfig('health-hl7', written), written);
    assert.equal(migrateConfig('health-hl7', { id: 'h', type: 'health-hl7', version: '2.3.1' }).version, '2.3.1');
    assert.equal(versionOf({ type: 'health-hl7', version: '2.3.1', configVersion: 1 }), 1);
  });

  it('passes a node of a newer release on as it is', function () {
    const newer = { id: 'x', type: 'sinocare-in', version: CONFIG_VERSION + 5, path: '/s' };
    assert.deepEqual(migrateConfig('sinocare-in', newer), newer);
  });

  it('does not change the object Node-RED handed over', function () {
    const saved = { id: 'acc', type: 'expeed-account' };
    migrateConfig('expeed-account', saved);
    assert.deepEqual(saved, { id: 'acc', type: 'expeed-account' });
  });

  it('migrates every node of the 0.1.0 example flows, keeping every property they had', function () {
    const nodes = nodesOf010();
    assert.ok(nodes.some((node) => node.type === 'expeed-account'), 'the fixture has an expeed-account');
    for (const node of nodes) {
      const migrated = migrateConfig(node.type, node);
      assert.equal(migrated.version, CONFIG_VERSION, node.type);
      for (const [key, value] of Object.entries(node)) assert.deepEqual(migrated[key], value, `${node.type}.${key}`);
    }
  });

  describe('1 → 2: who a reading belongs to (health-fhir, health-hl7)', function () {
    it('a node saved by the previous release keeps reading subject.patientId and sends a reading of no patient as before', function () {
      const fhir = { id: 'f', type: 'health-fhir', version: 1, output: 'bundle', patientField: 'patientId', patientSystem: '' };
      assert.deepEqual(migrateConfig('health-fhir', fhir), { ...fhir, version: CONFIG_VERSION, requirePatient: false });
      const hl7 = { id: 'h', type: 'health-hl7', configVersion: 1, version: '2.5.1', patientField: '', patientAuthority: 'HOSP' };
      assert.deepEqual(migrateConfig('health-hl7', hl7), { ...hl7, configVersion: CONFIG_VERSION, patientField: 'patientId', requirePatient: false });
      // a version-0 node (no version at all) is read the same way
      assert.equal(migrateConfig<Record<string, unknown>>('health-fhir', { id: 'f', type: 'health-fhir' }).requirePatient, false);
    });

    it('keeps a field the user chose; the defaults the editor filled into an imported old node are read as blank', function () {
      assert.equal(migrateConfig('health-fhir', { type: 'health-fhir', version: 1, patientField: 'visitId' }).patientField, 'visitId');
      // Node-RED's import fills every missing property with the current default: auto and true
      const imported = { type: 'health-hl7', configVersion: 1, patientField: PATIENT_DEFAULTS.patientField, requirePatient: PATIENT_DEFAULTS.requirePatient };
      const migrated = migrateConfig('health-hl7', imported);
      assert.equal(migrated.patientField, 'patientId');
      assert.equal(migrated.requirePatient, false);
    });

    it('a new node (the current version) keeps auto and requirePatient as the editor wrote them', function () {
      const fresh = { type: 'health-fhir', version: CONFIG_VERSION, patientField: 'auto', requirePatient: true };
      assert.deepEqual(migrateConfig('health-fhir', fresh), fresh);
      assert.equal(CONFIG_VERSION, 2);
    });
  });

  describe('in the editor (resources/config-migrate.js, with the steps the build writes into the editor file)', function () {
    /** The editor's script in a sandbox with the little of jQuery it uses outside a dialog. */
    function editorMigrate(): (type: string, node: Record<string, unknown>, steps: unknown, versionProperty: string) => Record<string, unknown> {
      const source = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'resources', 'config-migrate.js'), 'utf8');
      const window: Record<string, any> = {};
      vm.runInNewContext(source, { window, $: { extend: (target: object, ...sources: object[]) => Object.assign(target, ...sources) } });
      return window.healthBridge.configMigrate.migrate;
    }

    it('migrates an old node exactly as the runtime does, so its dialog shows what the runtime reads', function () {
      const migrate = editorMigrate();
      // the steps as the built editor file holds them (dist/nodes/health-fhir.html)
      const built = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'dist', 'nodes', 'health-fhir.html'), 'utf8');
      const steps = JSON.parse(/var CONFIG_STEPS = (.*);/.exec(built)?.[1] ?? 'null');
      assert.deepEqual(steps, JSON.parse(JSON.stringify(STEPS)));
      const nodes: Array<Record<string, unknown> & { type: string }> = [
        { type: 'health-fhir', version: 1, patientField: 'patientId' },
        { type: 'health-fhir', version: 1, patientField: 'auto', requirePatient: true },
        { type: 'health-fhir', version: 1, patientField: 'associatedId', requirePatient: true },
        { type: 'health-fhir', version: CONFIG_VERSION, patientField: 'auto', requirePatient: true },
        { type: 'health-hl7', configVersion: 1, version: '2.3.1', patientField: '' },
        { type: 'expeed-account', queryOnlineValue: '' },
        ...nodesOf010(),
      ];
      for (const node of nodes) {
        const property = node.type === 'health-hl7' ? 'configVersion' : 'version';
        // (through JSON: the editor's objects come from another realm)
        assert.deepEqual(JSON.parse(JSON.stringify(migrate(node.type, node, steps, property))), migrateConfig(node.type, node), JSON.stringify(node));
      }
    });
  });
});
