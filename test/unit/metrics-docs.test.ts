import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { registry } from '../../src/lib/metrics';

/**
 * The families on the Prometheus page and the table of docs/nodes/health-metrics.md are one list
 * kept in two places: this test holds them together, both ways.
 */
describe('health-metrics: the documented families are the registered ones', function () {
  const doc = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'docs', 'nodes', 'health-metrics.md'), 'utf8');
  const table = doc.slice(doc.indexOf('| metric | type | labels |'));
  const documented = new Set([...table.slice(0, table.indexOf('\n\n')).matchAll(/`(health_bridge_\w+)`/g)].map((match) => match[1]!));
  const registered = new Set(registry.getMetricsAsArray().map((metric) => (metric as unknown as { name: string }).name));

  it('every registered family has a row in the table', function () {
    assert.deepEqual([...registered].filter((name) => !documented.has(name)), []);
  });

  it('every family in the table is registered', function () {
    assert.ok(registered.size >= 19, `only ${registered.size} families registered`);
    assert.deepEqual([...documented].filter((name) => !registered.has(name)), []);
  });
});
