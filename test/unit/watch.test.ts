import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { newAtRestKeyText, Sealer } from '../../src/lib/at-rest';
import type { Reading } from '../../src/lib/reading';
import { WatchEngine, type AlertPayload } from '../../src/lib/watch/engine';
import { compileRules, DEFAULT_RULES, ruleRowSchema, watchPropertiesSchema, type RuleRow } from '../../src/lib/watch/rules';
import { WatchStore } from '../../src/lib/watch/store';

/**
 * health-watch's engine on its own (src/lib/watch/): the rules as a nurse reads them, silence on a
 * clock the test moves, what survives a restart, and, with fast-check, that any glucose series
 * gives what the written rule says: one firing and one resolved per episode, no flapping.
 */

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-07T08:00:00Z');

function engine(options: { rules?: readonly RuleRow[]; margin?: number; silenceMinutes?: number; repeatMinutes?: number; forgetHours?: number } = {}): WatchEngine {
  return new WatchEngine({
    rules: compileRules(options.rules ?? DEFAULT_RULES),
    margin: options.margin ?? 2,
    silenceMs: (options.silenceMinutes ?? 15) * MINUTE,
    forgetMs: (options.forgetHours ?? 24) * 60 * MINUTE,
    repeatMs: (options.repeatMinutes ?? 0) * MINUTE,
  });
}

let serial = 0;
function glucose(value: number | 'HI' | 'LO', extra: { unit?: string; sn?: string; patientId?: string; context?: Record<string, unknown> } = {}): Reading {
  serial++;
  const measured = typeof value === 'number';
  return {
    id: `sinocare:${serial}`,
    vendor: 'sinocare',
    kind: 'glucose',
    time: new Date(T0 + serial * MINUTE).toISOString(),
    values: measured ? { glucose: { value, unit: extra.unit ?? 'mmol/L' } } : {},
    device: { sn: extra.sn ?? 'CGM-1' },
    subject: { patientId: extra.patientId ?? 'P-1' },
    context: { intervalMinutes: 3, ...(measured ? {} : { resultText: value, outOfRange: value === 'HI' ? 'high' : 'low' }), ...extra.context },
    retry: false,
    receivedAt: new Date(T0).toISOString(),
  };
}

const brief = (alerts: { payload: AlertPayload }[]): string[] => alerts.map(({ payload }) => `${payload.rule} ${payload.state}`);

describe('health-watch rules (src/lib/watch)', function () {
  it('a glucose episode 3.5 → 3.4 → 2.8 → 5.0: glucose-low firing, glucose-urgent-low firing, both resolved', function () {
    const watch = engine();
    const seen = [3.5, 3.4, 2.8, 5.0].map((value, i) => brief(watch.observe(glucose(value), T0 + i * MINUTE)));
    assert.deepEqual(seen, [['glucose-low firing'], [], ['glucose-urgent-low firing'], ['glucose-urgent-low resolved', 'glucose-low resolved']]);
    assert.equal(watch.firingCount(), 0);
  });

  it('an alert says rule, severity, value, unit, threshold, reading id and since', function () {
    const watch = engine();
    const first = glucose(3.5);
    const [firing] = watch.observe(first, T0);
    watch.observe(glucose(3.4), T0 + MINUTE);
    const last = glucose(5.0);
    const [resolved] = watch.observe(last, T0 + 2 * MINUTE);
    assert.deepEqual({ ...firing!.payload }, {
      rule: 'glucose-low', state: 'firing', severity: 'warning', vendor: 'sinocare', kind: 'glucose', subject: { patientId: 'P-1' },
      device: { sn: 'CGM-1' }, value: 3.5, unit: 'mmol/L', threshold: 3.9, readingId: first.id, since: first.time, time: first.time,
    });
    assert.equal(firing!.reading, first);
    assert.equal(resolved!.payload.state, 'resolved');
    assert.equal(resolved!.payload.since, first.time, 'since is when the episode started');
    assert.equal(resolved!.payload.readingId, last.id);
  });

  it('a CGM "HI" fires glucose-high with its reading id; "LO" fires both low rules', function () {
    const watch = engine();
    const hi = glucose('HI');
    const alerts = watch.observe(hi, T0);
    assert.deepEqual(brief(alerts), ['glucose-high firing']);
    assert.equal(alerts[0]!.payload.readingId, hi.id);
    assert.equal(alerts[0]!.payload.value, null);
    assert.deepEqual(brief(watch.observe(glucose('LO'), T0 + MINUTE)), ['glucose-urgent-low firing', 'glucose-low firing', 'glucose-high resolved']);
  });

  it('converts mg/dL (÷ 18.016): 50 mg/dL is urgent, 100 mg/dL is not low, 252 mg/dL is high', function () {
    const watch = engine();
    const low = watch.observe(glucose(50, { unit: 'mg/dL' }), T0);
    assert.deepEqual(brief(low), ['glucose-urgent-low firing', 'glucose-low firing']);
    assert.equal(low[0]!.payload.unit, 'mmol/L');
    assert.equal(low[0]!.payload.value, 2.775);
    assert.deepEqual(brief(watch.observe(glucose(100, { unit: 'mg/dL' }), T0 + MINUTE)), ['glucose-urgent-low resolved', 'glucose-low resolved']);
    assert.deepEqual(brief(watch.observe(glucose(252, { unit: 'mg/dL' }), T0 + 2 * MINUTE)), ['glucose-high firing']);
    // a unit it cannot convert says nothing: no firing, no resolving
    assert.deepEqual(brief(watch.observe(glucose(2, { unit: 'g/L' }), T0 + 3 * MINUTE)), []);
  });

  it('rows of one name are one rule: bp-high fires once for a high systolic and diastolic, resolves when both are back', function () {
    const watch = engine();
    const bp = (systolic: number, diastolic: number): Reading => ({
      ...glucose(5), kind: 'blood_pressure', values: { systolic: { value: systolic, unit: 'mm[Hg]' }, diastolic: { value: diastolic, unit: 'mm[Hg]' } },
    });
    assert.deepEqual(brief(watch.observe(bp(150, 112), T0)), ['bp-high firing']);
    assert.deepEqual(brief(watch.observe(bp(185, 112), T0 + MINUTE)), []);
    assert.deepEqual(brief(watch.observe(bp(150, 108), T0 + 2 * MINUTE)), [], 'diastolic 108 is within 2 % of 110');
    assert.deepEqual(brief(watch.observe(bp(150, 100), T0 + 3 * MINUTE)), ['bp-high resolved']);
    // 24 kPa is 180 mm[Hg]
    assert.deepEqual(brief(watch.observe({ ...bp(0, 0), values: { systolic: { value: 24, unit: 'kPa' } } }, T0 + 4 * MINUTE)), ['bp-high firing']);
  });

  it('a value that hovers at the threshold does not flap; repeatMinutes repeats a lasting one', function () {
    const watch = engine();
    const hovering = [3.85, 3.95, 3.86, 3.97, 3.88, 3.9, 3.87];
    const alerts = hovering.flatMap((value, i) => brief(watch.observe(glucose(value), T0 + i * MINUTE)));
    assert.deepEqual(alerts, ['glucose-low firing']);
    const repeating = engine({ repeatMinutes: 5 });
    const repeated = [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5].flatMap((value, i) => brief(repeating.observe(glucose(value), T0 + i * MINUTE)));
    assert.deepEqual(repeated, ['glucose-low firing', 'glucose-low firing', 'glucose-low firing']);
  });

  it('keeps episodes per patient: one patient recovering does not resolve another', function () {
    const watch = engine();
    assert.deepEqual(brief(watch.observe(glucose(3.5, { patientId: 'A', sn: 'a' }), T0)), ['glucose-low firing']);
    assert.deepEqual(brief(watch.observe(glucose(3.5, { patientId: 'B', sn: 'b' }), T0)), ['glucose-low firing']);
    assert.deepEqual(brief(watch.observe(glucose(6, { patientId: 'A', sn: 'a' }), T0 + MINUTE)), ['glucose-low resolved']);
    assert.equal(watch.firing().find((row) => row.rule === 'glucose-low')!.count, 1);
  });

  it('a value from a sensor warming up (valid: false) fires nothing', function () {
    assert.deepEqual(brief(engine().observe(glucose(2.2, { context: { valid: false } }), T0)), []);
  });
});

describe('health-watch silence', function () {
  it('a device that stops fires silent once, after max(silence, 3 × its interval); its next reading resolves it', function () {
    const watch = engine({ silenceMinutes: 5 });
    watch.observe(glucose(6), T0);
    assert.deepEqual(brief(watch.tick(T0 + 8 * MINUTE)), [], '3 × 3 min is longer than 5');
    const [silent] = watch.tick(T0 + 9 * MINUTE);
    assert.equal(silent?.payload.rule, 'silent');
    assert.equal(silent.payload.since, new Date(T0).toISOString());
    assert.equal(silent.reading, undefined);
    assert.deepEqual(brief(watch.tick(T0 + 20 * MINUTE)), [], 'once');
    assert.equal(watch.firingCount(), 1);
    assert.deepEqual(brief(watch.observe(glucose(6), T0 + 21 * MINUTE)), ['silent resolved']);
    assert.equal(watch.firingCount(), 0);
  });

  it('a finished sensor is no longer watched, nor a device silent for forgetHours', function () {
    const watch = engine({ silenceMinutes: 5, forgetHours: 1 });
    watch.observe(glucose(6, { sn: 'done', context: { sensorState: 'finished' } }), T0);
    watch.observe(glucose(6, { sn: 'gone' }), T0);
    assert.deepEqual(brief(watch.tick(T0 + 10 * MINUTE)), ['silent firing']);
    assert.deepEqual(brief(watch.tick(T0 + 61 * MINUTE)), []);
    assert.equal(watch.devices.size, 0);
    assert.equal(watch.firingCount(), 0);
  });

  it('a restart neither repeats nor loses an episode, and is not a silence', function () {
    const before = engine({ silenceMinutes: 5 });
    before.observe(glucose(3.5), T0);
    const kept = JSON.parse(JSON.stringify({ episodes: before.episodesSnapshot().episodes, devices: before.devicesSnapshot().devices }));
    const after = engine({ silenceMinutes: 5 });
    const restart = T0 + 60 * MINUTE;
    after.restore(kept, restart);
    assert.equal(after.firingCount(), 1);
    assert.deepEqual(brief(after.tick(restart + 4 * MINUTE)), [], 'the silence clock started again at the restart');
    assert.deepEqual(brief(after.observe(glucose(3.4), restart + 4 * MINUTE)), [], 'not repeated');
    assert.deepEqual(brief(after.observe(glucose(5.0), restart + 5 * MINUTE)), ['glucose-low resolved'], 'not lost');
    const quiet = engine({ silenceMinutes: 5 });
    quiet.restore(kept, restart);
    assert.deepEqual(brief(quiet.tick(restart + 10 * MINUTE)), ['silent firing'], 'a device that never speaks again after the restart goes silent');
  });
});

describe('health-watch against the written rule (fast-check)', function () {
  /** What the docs say, for one `below` rule: fires under t, resolves at t + margin % or more. */
  function modelBelow(values: number[], t: number, margin: number): string[] {
    let firing = false;
    const out: string[] = [];
    for (const v of values) {
      if (!firing && v < t) {
        firing = true;
        out.push('firing');
      } else if (firing && v >= t + t * margin / 100) {
        firing = false;
        out.push('resolved');
      }
    }
    return out;
  }

  it('any glucose series gives glucose-low and glucose-urgent-low exactly as the written rule', function () {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1, max: 8, noNaN: true }), { maxLength: 60 }), fc.double({ min: 0, max: 10, noNaN: true }), (values, margin) => {
        const watch = engine({ margin });
        const alerts = values.flatMap((value, i) => watch.observe(glucose(value), T0 + i * MINUTE).map((a) => a.payload));
        for (const [rule, t] of [['glucose-low', 3.9], ['glucose-urgent-low', 3.0]] as const) {
          assert.deepEqual(alerts.filter((a) => a.rule === rule).map((a) => a.state), modelBelow(values, t, margin), rule);
        }
        const open = ['glucose-low', 'glucose-urgent-low', 'glucose-high'].filter((rule) => alerts.filter((a) => a.rule === rule).at(-1)?.state === 'firing');
        assert.equal(watch.firingCount(), open.length);
      }),
      { numRuns: 300 },
    );
  });

  it('one firing and one resolved per episode, whatever the mix of readings, HI and LO, patients and clock', function () {
    const reading = fc.record({
      value: fc.oneof(fc.double({ min: 0.5, max: 30, noNaN: true }), fc.constantFrom<'HI' | 'LO'>('HI', 'LO')),
      who: fc.constantFrom('A', 'B', 'C'),
      gap: fc.integer({ min: 0, max: 40 }),
    });
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 80 }), (readings) => {
        const watch = engine({ silenceMinutes: 10 });
        let now = T0;
        const states = new Map<string, string>();
        for (const { value, who, gap } of readings) {
          now += gap * MINUTE;
          const alerts = [...watch.tick(now), ...watch.observe(glucose(value, { patientId: who, sn: who }), now)];
          for (const { payload } of alerts) {
            const key = `${payload.rule}/${String(payload.subject?.patientId)}`;
            assert.notEqual(states.get(key), payload.state, `${key}: ${payload.state} twice in a row`);
            if (payload.state === 'resolved') assert.equal(states.get(key), 'firing', `${key}: resolved without firing`);
            states.set(key, payload.state);
          }
        }
        assert.equal(watch.firingCount(), [...states.values()].filter((state) => state === 'firing').length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('health-watch properties and what is kept', function () {
  it('the defaults parse as the table rows they are, and "silent" is no rule name', function () {
    const parsed = watchPropertiesSchema.parse({});
    assert.deepEqual(parsed.rules, DEFAULT_RULES);
    assert.equal(parsed.margin, 2);
    assert.equal(parsed.silenceMinutes, 15);
    assert.equal(watchPropertiesSchema.parse({ silenceMinutes: '0.02' }).silenceMinutes, 0.02);
    assert.equal(ruleRowSchema.safeParse({ name: 'silent', kind: 'glucose', value: 'glucose', below: 3 }).success, false);
    assert.equal(ruleRowSchema.safeParse({ name: 'x', kind: 'glucose', value: 'glucose' }).success, false, 'below or above');
    assert.deepEqual(watchPropertiesSchema.parse({ rules: [] }).rules, [], 'an empty table is no rules, not the defaults');
  });

  it('docs/nodes/health-watch.md gives every default rule as the code has it, with a source', function () {
    const page = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'nodes', 'health-watch.md'), 'utf8');
    const names = [...new Set(DEFAULT_RULES.map((row) => row.name))];
    for (const name of names) {
      const rows = DEFAULT_RULES.filter((row) => row.name === name);
      const line = page.split('\n').find((text) => text.startsWith(`| \`${name}\` |`));
      assert.ok(line, `a row for ${name}`);
      const [, , kind, condition, severity, source] = line.split('|').map((cell) => cell.trim());
      assert.equal(kind, `\`${rows[0]!.kind}\``, `${name}: kind`);
      assert.equal(severity, rows[0]!.severity, `${name}: severity`);
      for (const row of rows) {
        const expected = row.below !== undefined ? `${row.value === 'spo2' ? 'SpO2' : row.value} < ${row.below.toFixed(row.below % 1 ? 1 : row.value === 'glucose' ? 1 : 0)}` : `≥ ${row.above!.toFixed(row.above! % 1 || row.value === 'temperature' ? 1 : 0)}`;
        assert.ok(condition!.includes(expected), `${name}: "${condition}" says ${expected}`);
      }
      assert.ok((source ?? '').length > 40, `${name}: its source is named`);
    }
  });

  it('keeps episodes sealed in a file of mode 0600: no subject in clear; another key cannot read it', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-watch-'));
    const file = path.join(dir, 'health-bridge', 'watch-x.json');
    const devicesFile = path.join(dir, 'health-bridge', 'watch-x.devices.json');
    const key = Buffer.from(newAtRestKeyText(), 'hex');
    const store = (master: Buffer): WatchStore => new WatchStore(file, devicesFile, new Sealer(master, 'watch:x'));
    const watch = engine({ silenceMinutes: 5 });
    watch.observe(glucose(2.5, { patientId: 'MRN-SECRET-42', sn: 'SN-SECRET-7' }), T0);
    watch.observe(glucose(6, { patientId: 'MRN-QUIET-43', sn: 'SN-QUIET-8' }), T0);
    await store(key).saveDevices(watch.devicesSnapshot());
    watch.tick(T0 + 10 * MINUTE);
    watch.observe(glucose(2.5, { patientId: 'MRN-SECRET-42', sn: 'SN-SECRET-7' }), T0 + 10 * MINUTE);
    await store(key).saveEpisodes(watch.episodesSnapshot());
    for (const written of [file, devicesFile]) {
      assert.doesNotMatch(fs.readFileSync(written, 'utf8'), /MRN-SECRET-42|SN-SECRET-7|MRN-QUIET|SN-QUIET|glucose/);
      assert.equal(fs.statSync(written).mode & 0o777, 0o600);
    }
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    // the devices file says no device is silent; the episodes file, written later, says which is
    const after = engine({ silenceMinutes: 5 });
    after.restore((await store(key).load())!, T0 + 20 * MINUTE);
    assert.deepEqual(after.firing().filter((row) => row.count > 0).map((row) => `${row.rule} ${row.count}`), ['glucose-urgent-low 1', 'glucose-low 1', 'silent 1']);
    assert.equal(after.devices.size, 2);
    assert.deepEqual(brief(after.observe(glucose(6, { patientId: 'MRN-QUIET-43', sn: 'SN-QUIET-8' }), T0 + 21 * MINUTE)), ['silent resolved']);
    const other = Buffer.from(newAtRestKeyText(), 'hex');
    await assert.rejects(store(other).load(), { code: 'undecryptable' });
    fs.rmSync(dir, { recursive: true });
  });
});
