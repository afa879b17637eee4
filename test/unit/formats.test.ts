import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { migrateConfig } from '../../src/lib/config-version';
import { CodedError } from '../../src/lib/coded-error';
import { errorCodesOf, NOT_RETRYABLE_CODES } from '../../src/lib/error-codes';
import { FORMATS, type FormatName } from '../../src/lib/formats';
import { MappingError, formatNodeCodes, mapPayload, parseFormatOptions, type FormatModule } from '../../src/lib/formats/contract';
import { PATIENT_DEFAULTS, PATIENT_LEGACY } from '../../src/lib/formats/patient';
import { patientKeyOf } from '../../src/lib/outbox/properties';
import { reading } from './hl7-readings';

/** What every format node shares (src/lib/formats/contract.ts), for every format of FORMATS and for one made up here. */

const READING = reading('sinocare', 'valid-reading');
const EVENT = { vendor: 'lezhi', event: 'bind', subject: { name: '张三' }, data: { phone: '15300001111' } };
const FLOWS_0_1_0 = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'flows', '0.1.0');

/** The smallest format there is: the reading's id as text. What the contract does, it does for this one too. */
const echo: FormatModule<{ upper: boolean }, string> = {
  nodeType: 'health-echo',
  options: z.object({ upper: z.boolean().default(false) }),
  errorCodes: ['event', 'not-a-reading', 'refused'],
  notRetryable: new Set(['refused']),
  patientOptional: () => false,
  map: (read, options) => {
    if (read.kind === 'ecg') throw new MappingError('refused', `no ${read.kind} here`, echo.notRetryable);
    return { payload: options.upper ? read.id.toUpperCase() : read.id, status: { id: read.id } };
  },
  httpRequest: false,
};

const failureOf = (run: () => unknown): CodedError & { retryable?: boolean } => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof CodedError, String(error));
    return error;
  }
  assert.fail('no failure');
};

describe('the format contract: one way for every format node', function () {
  for (const format of [...Object.values(FORMATS), echo] as FormatModule[]) {
    describe(format.nodeType, function () {
      const { options } = parseFormatOptions(format, {});
      it('keeps the reading beside the payload, for the outbox\'s order per patient, and gives the reading\'s topic', function () {
        const result = mapPayload(format, READING, options);
        assert.equal(result.reading, READING);
        assert.equal(result.topic, 'sinocare/glucose');
        assert.notEqual(result.payload, READING);
        const key = patientKeyOf({ payload: result.payload, reading: result.reading } as never);
        assert.notEqual(key, 0);
        assert.equal(key, patientKeyOf({ payload: READING } as never), 'the same patient key as the reading itself');
      });

      it('refuses an event with its topic and anything else as not a reading, retryable, naming no value', function () {
        const event = failureOf(() => mapPayload(format, EVENT, options));
        assert.equal(event.code, 'event');
        assert.equal(event.params.topic, 'lezhi/bind');
        assert.notEqual(event.retryable, false);
        assert.ok(!event.message.includes('张三') && !event.message.includes('1530000'), event.message);
        for (const payload of ['hello', null, [READING], { ...READING, id: '' }, { ...READING, values: undefined }]) {
          assert.equal(failureOf(() => mapPayload(format, payload, options)).code, 'not-a-reading');
        }
      });

      it('lists its codes with invalid-config first, as the node reports them', function () {
        assert.deepEqual(formatNodeCodes(format).slice(0, 3), ['invalid-config', 'event', 'not-a-reading']);
        for (const code of format.notRetryable) assert.ok(format.errorCodes.includes(code), code);
      });
    });
  }

  it('a mapping\'s failure no retry can mend says so, with its code and sentence', function () {
    const failure = failureOf(() => mapPayload(echo, { ...READING, kind: 'ecg' }, { upper: false }));
    assert.equal(failure.code, 'refused');
    assert.equal(failure.params.detail, 'no ecg here');
    assert.equal(failure.retryable, false);
    assert.equal(failureOf(() => mapPayload(FORMATS.hl7, { ...READING, kind: 'mood' }, parseFormatOptions(FORMATS.hl7, {}).options!)).retryable, false);
  });

  it('the nodes\' error codes and the codes no retry mends are the formats\' own', function () {
    for (const format of Object.values(FORMATS)) {
      assert.deepEqual(errorCodesOf(format.nodeType), formatNodeCodes(format));
      for (const code of format.notRetryable) assert.ok(NOT_RETRYABLE_CODES.has(code), code);
    }
  });
});

/** A value of one of its options each format cannot read (keyed by format: a new one must name its own). */
const UNREADABLE_OPTION: Record<FormatName, Record<string, string>> = { fhir: { output: 'xml-secret' }, hl7: { version: '2.9-secret' } };

/** Whether a format files readings under a patient (its options carry patientField / requirePatient). */
const hasPatientOptions = (format: FormatModule<Record<string, unknown>>): boolean => 'patientField' in (parseFormatOptions(format, {}).options ?? {});

describe('the formats\' options (zod): what the editor and earlier releases saved', function () {
  for (const [name, format] of Object.entries(FORMATS) as Array<[FormatName, FormatModule<Record<string, unknown>>]>) {
    if (hasPatientOptions(format)) it(`${format.nodeType}: blank is the default, and patientField's default is patient.ts's`, function () {
      for (const saved of [{}, { patientField: '', requirePatient: '' }, { patientField: null, requirePatient: null }]) {
        const { options } = parseFormatOptions(format, saved) as { options: Record<string, unknown> };
        assert.equal(options.patientField, PATIENT_DEFAULTS.patientField);
        assert.equal(options.requirePatient, PATIENT_DEFAULTS.requirePatient);
        assert.equal(format.patientOptional(options), false);
      }
    });

    if (hasPatientOptions(format)) it(`${format.nodeType}: a node saved by 0.1.0 reads as it did, a requirePatient saved as text too`, function () {
      const saved = fs.readdirSync(FLOWS_0_1_0)
        .flatMap((file) => JSON.parse(fs.readFileSync(path.join(FLOWS_0_1_0, file), 'utf8')) as Array<Record<string, unknown>>)
        .filter((node) => node.type === format.nodeType);
      for (const node of [...saved, { id: 'x', type: format.nodeType }]) {
        const { options, problem } = parseFormatOptions(format, migrateConfig(format.nodeType, node)) as { options: Record<string, unknown>; problem?: Error };
        assert.equal(problem, undefined, problem?.message);
        assert.equal(options.patientField, PATIENT_LEGACY.patientField);
        assert.equal(options.requirePatient, PATIENT_LEGACY.requirePatient);
        assert.equal(format.patientOptional(options), true, 'warned at deploy');
      }
      const asText = parseFormatOptions(format, { requirePatient: 'false' }).options as Record<string, unknown>;
      assert.equal(asText.requirePatient, false);
    });

    it(`${format.nodeType}: what it cannot read is invalid-config naming the property, never its value`, function () {
      const bad = UNREADABLE_OPTION[name];
      const { problem } = parseFormatOptions(format, { ...bad, ...(hasPatientOptions(format) ? { requirePatient: 'maybe' } : {}) });
      assert.equal(problem?.code, 'invalid-config');
      assert.match(String(problem?.params.detail), new RegExp(`(^|; )${Object.keys(bad)[0]} must be `));
      if (hasPatientOptions(format)) assert.match(String(problem?.params.detail), /(^|; )requirePatient must be true or false/);
      assert.ok(!problem?.message.includes('secret'), problem?.message);
    });
  }
});
