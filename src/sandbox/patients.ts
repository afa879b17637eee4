import { SAMPLE_SCALE } from './traffic/lezhi';
import { SANDBOX_DEVICES } from './traffic/expeed';
import { SAMPLE_VIATOM_PHONE } from './traffic/viatom';

/**
 * Whose the sandbox's devices and users are, as a hospital would type them into health-patient's
 * table: the hospital bridge example gets these rows from `npm start` and the tests (a table is a
 * credential, so the example file itself carries none). Sinocare sends its patient id itself and
 * Lezhi's user pushes carry the integrator's associatedId, so neither needs a row; the Lezhi scale,
 * the Expeed thermometers and the Viatom user who authorizes by phone do. Invented ids.
 */
export interface SandboxPatientRow {
  vendor: string;
  field: string;
  value: string;
  patientId: string;
}

export const SANDBOX_PATIENT_ROWS: readonly SandboxPatientRow[] = [
  { vendor: 'lezhi', field: 'device', value: SAMPLE_SCALE.sn, patientId: 'MRN-1002' },
  { vendor: 'viatom', field: 'phone', value: SAMPLE_VIATOM_PHONE, patientId: 'MRN-1003' },
  ...SANDBOX_DEVICES.map((device, index) => ({ vendor: 'expeed', field: 'device', value: device.id, patientId: `MRN-${1004 + index}` })),
];
