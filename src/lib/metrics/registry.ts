import { Counter, Gauge, Registry } from 'prom-client';
import { runningOf, type RunningKind, type RunningStatus } from '../operations/running';

/**
 * The package's own prom-client Registry: prom-client's global registry is shared by every
 * package of the process, and a second copy of our families there would clash with (or be mixed
 * into) someone else's page.
 */
export const registry = new Registry();

export type Child = { inc(value?: number): void };

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/**
 * A gauge read from the running nodes' statuses at each scrape: one series per node of `kind`
 * (labelled node and name) or per row `rows` makes of it. Costs nothing between scrapes, and a
 * node that left the table leaves the page at the next scrape.
 */
export function statusGauge<K extends RunningKind, L extends string = never>(
  name: string,
  help: string,
  kind: K,
  rows: (status: Extract<RunningStatus, { kind: K }>) => { labels?: Record<L, string>; value: number }[],
  extraLabels: readonly L[] = [],
): Gauge<'node' | 'name' | L> {
  return new Gauge({
    name,
    help,
    labelNames: ['node', 'name', ...extraLabels],
    registers: [registry],
    collect(this: Gauge<'node' | 'name' | L>) {
      this.reset();
      for (const node of runningOf(kind)) {
        const status = node.status();
        for (const row of rows(status)) {
          this.set({ node: status.id, name: status.name, ...row.labels } as Partial<Record<'node' | 'name' | L, string>>, row.value);
        }
      }
    },
  });
}

/** One series per node: the common case of `statusGauge`. */
export const perNode = <S>(pick: (status: S) => number) => (status: S) => [{ value: pick(status) }];
