import assert from 'node:assert/strict';
import { isoInZone } from '../../src/lib/time';

/** The wall clock and offset Intl gives for an instant, written out independently of src/lib/time. */
function intlIso(epochMs: number, tz: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'longOffset',
    }).formatToParts(new Date(epochMs)).map((p) => [p.type, p.value]),
  );
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : parts.timeZoneName.slice(3);
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

describe('times in a zone', function () {
  // Zones with whole-hour and half-hour daylight-saving changes, one south of the equator, and
  // China's single offset; every minute around each change, and a day of minutes in Shanghai.
  const changes: Array<[string, string]> = [
    ['America/New_York', '2024-03-10T07:00:00Z'],
    ['America/New_York', '2024-11-03T06:00:00Z'],
    ['Europe/Berlin', '2024-03-31T01:00:00Z'],
    ['Europe/Berlin', '2024-10-27T01:00:00Z'],
    ['Australia/Lord_Howe', '2024-04-06T15:00:00Z'],
    ['Australia/Lord_Howe', '2024-10-05T15:30:00Z'],
    ['Asia/Kathmandu', '2024-06-01T00:00:00Z'],
  ];
  for (const [tz, at] of changes) {
    it(`writes the local time and offset of ${tz} around ${at} as Intl does, minute by minute`, function () {
      const centre = Date.parse(at);
      for (let minute = -90; minute <= 90; minute++) {
        const epochMs = centre + minute * 60_000 + 17_000;
        assert.equal(isoInZone(epochMs, tz), intlIso(epochMs, tz), `${tz} ${new Date(epochMs).toISOString()}`);
      }
    });
  }

  it('writes a whole day of Shanghai minutes as Intl does', function () {
    const start = Date.parse('2024-11-19T00:00:00+08:00');
    for (let minute = 0; minute < 1440; minute += 7) {
      const epochMs = start + minute * 60_000;
      assert.equal(isoInZone(epochMs, 'Asia/Shanghai'), intlIso(epochMs, 'Asia/Shanghai'));
    }
  });
});
