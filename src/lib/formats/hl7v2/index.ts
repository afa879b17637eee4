/** HL7 v2 for the hospital half (docs/hospital.md#hl7-v2): reading → ORU^R01, escaping, charsets, MLLP framing, ACKs, the connection. */
export * from './ack';
export * from './charset';
export * from './codes';
export * from './connection';
export * from './escape';
export * from './mllp';
export * from './oru';
export * from './time';
export * from './properties';
export { hl7NodeOptions, type Hl7NodeOptions } from './options';
export { hl7Format } from './format';
