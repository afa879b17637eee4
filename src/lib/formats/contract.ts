import type { z } from 'zod';
import { CodedError } from '../coded-error';
import { notAReading, topicOf, type Reading } from '../reading';

/**
 * What a hospital format (FHIR R4, HL7 v2, and whatever comes: Nightscout, openEHR) provides, and
 * the one way its node (src/nodes/format-node.ts) turns a message into that format. No Node-RED
 * here. A new format is: its module under src/lib/formats/<name>/ exporting a FormatModule, its
 * node files (ts of one line, html, locales, icon), and its entry in FORMATS (./index.ts).
 *
 * What every format node does the same way, so a format cannot forget it:
 * - the payload is checked to be a reading once, before the mapping (`notAReading`, reading.ts);
 * - the node's options are parsed by the format's zod schema, once, when the node starts;
 * - the reading stays beside the new payload in `msg.reading`: health-outbox orders deliveries
 *   per patient by it (`patientKeyOf`, src/lib/outbox), which the Bundle or the ORU^R01 does not
 *   let it read;
 * - a failure is a CodedError of one of the format's codes, `retryable: false` where no retry
 *   can mend it, so the vendor is not made to push the same reading forever.
 */

/** Why a reading cannot become the format; `code` says which case, the message says it to a person. */
export class MappingError<Code extends string = string> extends Error {
  readonly retryable: boolean;

  /** The same order in every format: the code, the sentence, whether a retry can mend it. */
  constructor(
    readonly code: Code,
    message: string,
    notRetryable: ReadonlySet<string> = new Set(),
  ) {
    super(message);
    this.name = 'MappingError';
    this.retryable = !notRetryable.has(code);
  }
}

/** What the mapping of one reading gives the node to send. */
export interface Mapped<Payload> {
  /** The new `msg.payload`. */
  payload: Payload;
  /** Headers merged into `msg.headers` (e.g. FHIR's content type for the core http request node). */
  headers?: Readonly<Record<string, string>>;
  /** The parameters of the node's `status.mapped` text (the resource type, the HL7 version). */
  status: Readonly<Record<string, string>>;
}

export interface FormatModule<Options = unknown, Payload = unknown, NodeType extends string = string> {
  /** The node's type, and its locale namespace: `health-fhir` (src/lib/registry.ts lists it as kind 'format'). */
  readonly nodeType: NodeType;
  /** The node's saved properties, as the editor and earlier releases write them; blank is the default. */
  readonly options: z.ZodType<Options, unknown>;
  /** Every code the mapping's MappingError carries, `event` and `not-a-reading` first (the node adds `invalid-config`). */
  readonly errorCodes: readonly string[];
  /** The codes no retry can mend. */
  readonly notRetryable: ReadonlySet<string>;
  /** True where a node with these options files a reading of no patient under nobody (the node warns at each deploy). */
  patientOptional(options: Options): boolean;
  /** The reading in the format; throws MappingError. */
  map(reading: Reading, options: Options): Mapped<Payload>;
  /**
   * The payload goes to the core http request node, which gives up a push's deadline only if
   * told (`msg.requestTimeout`); false where the next node reads the deadline itself (hl7-send).
   */
  readonly httpRequest: boolean;
}

/** The codes every format node reports besides its mapping's: its properties do not parse. */
export const FORMAT_NODE_CODES = ['invalid-config'] as const;

/** The codes of a format's node, in the order its help and the README list them. */
export function formatNodeCodes(format: Pick<FormatModule, 'errorCodes'>): readonly string[] {
  return [...FORMAT_NODE_CODES, ...format.errorCodes];
}

/** The issues of options that do not parse, as the rules they break ("output must be …"), never the values. */
export function describeOptionIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.join('.');
      // the schemas' own messages name the property ("output must be …"); zod's own do not
      return issue.message.startsWith(`${where} `) ? issue.message : `${where}: ${issue.code.replace(/_/g, ' ')}`;
    })
    .join('; ');
}

/** A node's options parsed, or why not (its `invalid-config`). */
export function parseFormatOptions<Options>(format: FormatModule<Options>, config: unknown): { options: Options; problem?: undefined } | { options?: undefined; problem: CodedError } {
  const parsed = format.options.safeParse(config);
  return parsed.success ? { options: parsed.data } : { problem: new CodedError('invalid-config', { detail: describeOptionIssues(parsed.error) }) };
}

/** A failure as the node reports it: its code, the sentence as `detail`, an event's topic, `retryable: false` where it holds. */
function failure(code: string, detail: string, topic: string, retryable: boolean): CodedError {
  const coded = new CodedError(code, { detail, topic });
  return retryable ? coded : Object.assign(coded, { retryable: false });
}

/** What the node sends: the mapping, and the reading it came from. */
export interface FormatResult<Payload> extends Mapped<Payload> {
  reading: Reading;
  /** The reading's topic, `<vendor>/<kind>`. */
  topic: string;
}

/**
 * A message's payload in the format: checks that it is a reading, maps it. Throws a CodedError of
 * the format's codes (a mapping's own error is told by its code, its sentence, which names kinds,
 * units and the reading id, never a patient value); any other error is a bug and goes as it is.
 */
export function mapPayload<Options, Payload>(format: FormatModule<Options, Payload>, payload: unknown, options: Options): FormatResult<Payload> {
  const problem = notAReading(payload);
  if (problem) throw failure(problem.code, problem.message, problem.code === 'event' ? problem.topic : '', true);
  const reading = payload as Reading;
  try {
    return { ...format.map(reading, options), reading, topic: topicOf(reading) };
  } catch (error) {
    if (!(error instanceof MappingError)) throw error;
    throw failure(error.code, error.message, '', error.retryable);
  }
}
