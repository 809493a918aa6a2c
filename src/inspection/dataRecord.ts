// Records keyed by names read from an untrusted file (metadata keys, layer classes, dtypes). An
// ordinary object literal inherits from Object.prototype: assigning `record["__proto__"]` would
// replace its prototype (silently dropping the entry, or adopting a file-supplied object), and
// reading `record["constructor"]` would find Object. Without a prototype every key is plain data.
export const dataRecord = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;
