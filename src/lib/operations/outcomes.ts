/** How a push ended, as `health_bridge_pushes_total` and the admin API name it. */
export type PushOutcome = 'accepted' | 'duplicate' | 'rejected' | 'unauthorized' | 'too_large' | 'failed' | 'timeout' | 'unavailable';
export const PUSH_OUTCOMES: readonly PushOutcome[] = ['accepted', 'duplicate', 'rejected', 'unauthorized', 'too_large', 'failed', 'timeout', 'unavailable'];

/** The codes `health_bridge_hl7_acks_total` counts an hl7-send's answers by. */
export type Hl7AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR' | 'timeout' | 'deadline' | 'closed';
export const HL7_ACK_CODES: readonly Hl7AckCode[] = ['AA', 'AE', 'AR', 'CA', 'CE', 'CR', 'timeout', 'deadline', 'closed'];
