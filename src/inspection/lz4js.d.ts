declare module "lz4js/xxh32.js" {
  /** xxHash32 of src[index, index + len) with the given seed, as an unsigned 32-bit number. */
  export function hash(seed: number, src: Uint8Array, index: number, len: number): number;
}
