import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_VERSION, migrateConfig, versionOf } from '../../src/lib/config-version';

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
    assert.equal(migrated.version, 1);
  });

  it('leaves a value the user set alone, and changes nothing of a node already at the current version', function () {
    const chosen = { id: 'acc', type: 'expeed-account', queryOnlineValue: '0' };
    assert.equal(migrateConfig('expeed-account', chosen).queryOnlineValue, '0');
    const current = { id: 'acc', type: 'expeed-account', version: CONFIG_VERSION, queryOnlineValue: '' };
    assert.deepEqual(migrateConfig('expeed-account', current), current);
  });

  it('keeps the HL7 version of a health-hl7 written with SPEC\'s names: its configuration version is configVersion', function () {
    const written = { id: 'h', type: 'health-hl7', version: '2.3.1' };
    assert.deepEqual(migrateConfig('health-hl7', written), { ...written, configVersion: CONFIG_VERSION });
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
});
