import fs from 'node:fs';
import path from 'node:path';
import type { Reading } from '../../src/lib/reading';
import { expeedProtocol } from '../../src/lib/vendors/expeed';
import { lezhiProtocol } from '../../src/lib/vendors/lezhi';
import { sinocareProtocol } from '../../src/lib/vendors/sinocare';
import { viatomProtocol } from '../../src/lib/vendors/viatom';

/** Readings built as the receivers build them: a vendor fixture through its schema and normalizer. */

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'bodies');
const CONTEXT = { tz: 'Asia/Shanghai', receivedAt: '2026-11-22T10:00:00.123Z' };

export const READING_FIXTURES = {
  lezhi: ['weight', 'blood-pressure', 'blood-pressure-user', 'glucose', 'glucose-user', 'numbers-as-strings'],
  sinocare: ['document-example', 'valid-reading', 'result-hi'],
  viatom: [
    'temperature', 'temperature-coded', 'spo2', 'spo2-coded', 'blood-pressure', 'glucose', 'glucose-mg-dl', 'glucose-hi',
    'ecg', 'heart-rate', 'sleep', 'blood-lipids', 'body-fat', 'create-time-only',
  ],
  expeed: ['data', 'data-unmeasured', 'data-current-point'],
} as const;

export type FixtureVendor = keyof typeof READING_FIXTURES;

export function body(vendor: FixtureVendor, name: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, vendor, `${name}.json`), 'utf8'));
}

/** Every reading (not event) the fixture's push makes. */
export function readingsOf(vendor: FixtureVendor, name: string): Reading[] {
  return readingsFromBody(vendor, body(vendor, name));
}

/** Every reading (not event) a push body of the vendor makes, through its schema and normalizer. */
export function readingsFromBody(vendor: FixtureVendor, input: unknown): Reading[] {
  const items = (() => {
    switch (vendor) {
      case 'lezhi': return lezhiProtocol.normalize(lezhiProtocol.schema.parse(input), CONTEXT);
      case 'sinocare': return sinocareProtocol.normalize(sinocareProtocol.schema.parse(input), CONTEXT);
      case 'viatom': return viatomProtocol.normalize(viatomProtocol.schema.parse(input), CONTEXT);
      case 'expeed': {
        const protocol = expeedProtocol();
        return protocol.normalize(protocol.schema.parse(input), CONTEXT);
      }
    }
  })();
  return items.flatMap((item) => (item.output === 'reading' ? [item.payload] : []));
}

export function reading(vendor: FixtureVendor, name: string): Reading {
  const [first] = readingsOf(vendor, name);
  if (!first) throw new Error(`${vendor}/${name} makes no reading`);
  return first;
}
