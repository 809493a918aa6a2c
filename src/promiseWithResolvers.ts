// A promise with its resolve and reject functions, as Promise.withResolvers (Node 22) gives them:
// the per-tick batch readers (comment revisions, event actors) settle each caller's promise when
// their one query returns. Node 20 does not have Promise.withResolvers.

export interface PromiseWithResolvers<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function promiseWithResolvers<T>(): PromiseWithResolvers<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}
