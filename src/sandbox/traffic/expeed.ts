import { random, round, type PlannedPush, type VendorTraffic } from './script';

export interface SandboxDevice {
  id: string;
  key: string;
  sn: string;
}

/** The devices of the emulated Expeed platform: they push, and its API answers for them. */
export const SANDBOX_DEVICES: readonly SandboxDevice[] = [
  { id: 'thermo-01', key: 'sandbox-device-key-01', sn: 'EXP-T-0001' },
  { id: 'thermo-02', key: 'sandbox-device-key-02', sn: 'EXP-T-0002' },
];

/** The platform's wall-clock timestamps: 2017-02-13T12-00-00-000 in UTC+8. */
function expeedTimestamp(epochMs: number): string {
  return new Date(epochMs + 8 * 3_600_000).toISOString().slice(0, 23).replace(/[:.]/g, '-');
}

/** Pushes of the Expeed access document, 2.1.1 (online 0 / offline 1) and 2.1.2 (data). */
export const traffic: VendorTraffic = {
  script() {
    const devices = SANDBOX_DEVICES;
    const next = random(4);
    let turn = 0;
    return {
      next(now) {
        const device = devices[turn % devices.length]!;
        const step = turn++;
        const status = (online: boolean): PlannedPush => {
          const body = { msg_type: '1', device_id: device.id, device_key: device.key, device_sn: device.sn, device_status: online ? 0 : 1 };
          return { vendor: 'expeed', body, retryBody: body, summary: `device ${device.id} ${online ? 'online' : 'offline'}`, outcome: 'event', kind: online ? 'online' : 'offline', readings: 0 };
        };
        // Each device comes online first; every tenth turn one drops off, and comes back the turn after.
        if (step < devices.length) return status(true);
        if (step >= 10 && step % 10 === 0) return status(false);
        if (step >= 10 && step % 10 === devices.length) return status(true);
        const points = 1 + (step % 3);
        const data = Array.from({ length: points }, (_, i) => ({
          timestamp: expeedTimestamp(now - (points - 1 - i) * 60_000),
          temp: round(21 + next() * 4, 1),
          humidity: Math.round(40 + next() * 20),
        }));
        const body = { device_id: device.id, device_key: device.key, msg_type: '2', data };
        return { vendor: 'expeed', body, retryBody: body, summary: `device ${device.id}: ${points} data point(s), temp ${data.at(-1)!.temp}`, outcome: 'readings', kind: 'datapoint', readings: points };
      },
    };
  },
  isSuccess: (body) => body?.result_code === 0,
};
