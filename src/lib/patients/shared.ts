import type { Sealer } from '../at-rest';
import { CodedError } from '../coded-error';
import { sourceKey, type PatientRow } from './rows';
import { runtimeRowsFromJson, runtimeRowsToJson } from './store';
import { normalValue, type RuntimeRow } from './table';

/**
 * health-patient's run-time rows in Redis (a `health-redis` config node in `state`), one table for
 * every Node-RED instance running the flow: a row assigned through A names the patient of B's
 * next reading.
 *
 * One hash, `<prefix>patients:<node id>`: a field per source (vendor, field, value), named by a
 * keyed hash (HMAC under the at-rest key) of it, holding that source's rows sealed with the same
 * key (Redis holds no patient id, device or member in clear); and a field `version`, a counter
 * raised with every change in the same script.
 * - A change (an assignment, its end, a Viatom binding) rewrites its source's field by a
 *   compare-and-set on the field's sealed value (each sealing is unique, so the value is its own
 *   version), again from the top when another instance changed it meanwhile.
 * - Each instance keeps a copy of every row, and before each lookup reads `version` (one small
 *   command): when it moved, the copy is read again whole. So a lookup never uses a row set older
 *   than the last change any instance finished before it began.
 */

/** The commands the store sends. */
export interface RedisRowsClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** KEYS: the hash. ARGV: the field, the value expected ('' none), the new value ('' none). Returns the new version, or -1 when the field changed meanwhile. */
const SWAP = `
local now = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if now ~= ARGV[2] then return -1 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return redis.call('HINCRBY', KEYS[1], 'version', 1)`;

const GET = `return redis.call('HGET', KEYS[1], ARGV[1]) or ''`;
const ALL = `return redis.call('HGETALL', KEYS[1])`;

const VERSION = 'version';
/** How often a change is tried again when other instances keep changing the same source. */
const ATTEMPTS = 20;

export class RedisRuntimeRows {
  /** The version the copy was read at; -1: read it (again). */
  private known = -1;

  constructor(
    private readonly client: RedisRowsClient,
    private readonly sealer: Sealer,
    /** `<health-redis prefix>patients:<node id>` */
    private readonly key: string,
  ) {}

  /**
   * Every run-time row when some instance changed them since the last call, else undefined (the
   * copy holds). Throws the client's error, or CodedError `undecryptable` / `damaged`.
   */
  async fresh(): Promise<RuntimeRow[] | undefined> {
    const version = Number(await this.client.eval(GET, { keys: [this.key], arguments: [VERSION] })) || 0;
    if (version === this.known) return undefined;
    const flat = (await this.client.eval(ALL, { keys: [this.key], arguments: [] })) as string[];
    const rows: RuntimeRow[] = [];
    let read = 0;
    for (let index = 0; index + 1 < flat.length; index += 2) {
      if (flat[index] === VERSION) read = Number(flat[index + 1]) || 0;
      else rows.push(...this.open(flat[index + 1]!));
    }
    this.known = read;
    return rows;
  }

  /**
   * Changes the rows of one source: `change` gets that source's rows and returns what they become
   * (it may throw, e.g. nothing to end). The next `fresh` reads the table again.
   */
  async change(source: Pick<PatientRow, 'vendor' | 'field' | 'value'>, change: (rows: readonly RuntimeRow[]) => RuntimeRow[]): Promise<void> {
    const field = this.sealer.keyedId(sourceKey({ ...source, value: normalValue(source.field, source.value) }));
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const before = String(await this.client.eval(GET, { keys: [this.key], arguments: [field] }));
      const rows = change(before === '' ? [] : this.open(before));
      const after = rows.length === 0 ? '' : this.sealer.sealText(JSON.stringify(runtimeRowsToJson(rows)));
      const version = Number(await this.client.eval(SWAP, { keys: [this.key], arguments: [field, before, after] }));
      if (version !== -1) {
        this.known = -1;
        return;
      }
    }
    throw new CodedError('busy');
  }

  private open(sealed: string): RuntimeRow[] {
    return runtimeRowsFromJson(JSON.parse(this.sealer.openText(sealed)));
  }
}
