// Label values that come from clients (GraphQL operation names) must not grow a metric without
// bound: every distinct value is a time series held in memory for the life of the process, and
// scraped forever after. The first `limit` distinct names that look like names keep their own
// label; every later one, and anything odd, shares `other`.

/** A GraphQL name of reasonable length: longer or stranger names are not worth a series of their own. */
const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const OTHER_LABEL = "other";
export const ANONYMOUS_LABEL = "anonymous";

export class BoundedLabels {
  readonly #known = new Set<string>();

  constructor(readonly limit: number) {}

  /** The label for `name`: itself while there is room, `other` after that, `anonymous` without one. */
  label(name: string | null | undefined): string {
    if (name === null || name === undefined || name === "") return ANONYMOUS_LABEL;
    if (this.#known.has(name)) return name;
    if (this.#known.size >= this.limit || !SAFE_NAME.test(name) || name === OTHER_LABEL) return OTHER_LABEL;
    this.#known.add(name);
    return name;
  }

  get size(): number {
    return this.#known.size;
  }
}
