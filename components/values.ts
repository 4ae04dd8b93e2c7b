// Small helpers for the plain-data values this program hands to Helm charts and exports as outputs.

/** A JSON-like tree of chart values. */
export type Values = { [key: string]: unknown };

function isPlainObject(value: unknown): value is Values {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Merges `over` onto `under`: objects merge key by key, anything else (arrays included) in `over` replaces what is
 * in `under`. Neither argument is modified.
 */
export function deepMerge(under: Values, over: Values): Values {
    const result: Values = { ...under };
    for (const [key, value] of Object.entries(over)) {
        const existing = result[key];
        result[key] = isPlainObject(existing) && isPlainObject(value) ? deepMerge(existing, value) : value;
    }
    return result;
}

/**
 * Returns a copy with object keys sorted at every level and `undefined` members left out, so that the same inputs
 * always serialise the same way (no diffs from key order or unset keys).
 */
export function canonical<T>(value: T): T {
    if (Array.isArray(value)) {
        return value.map((item) => canonical(item)) as unknown as T;
    }
    if (isPlainObject(value)) {
        const sorted: Values = {};
        for (const key of Object.keys(value).sort()) {
            if (value[key] !== undefined) {
                sorted[key] = canonical(value[key]);
            }
        }
        return sorted as T;
    }
    return value;
}
