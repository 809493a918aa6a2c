// graphql-js parses recursively: a document of a few thousand unclosed `{` (or `[`, or `(` around
// nested input objects) overflows the stack inside the parser, before any depth or token limit has
// looked at it, and surfaces as an internal error. This plugin measures bracket nesting in one
// linear pass over the source, skipping strings, block strings and comments, and refuses a document
// nested deeper than the limit before the parser ever sees it.
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { DocumentCache } from "./documentCache.ts";

/** The deepest nesting of `{`, `[` and `(` outside strings and comments. */
export function bracketNesting(source: string): number {
  let depth = 0;
  let deepest = 0;
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source.charCodeAt(i);
    if (c === 0x23 /* # */) {
      // A comment runs to the end of the line.
      while (i < n && source.charCodeAt(i) !== 0x0a && source.charCodeAt(i) !== 0x0d) i++;
    } else if (c === 0x22 /* " */) {
      if (source.startsWith('"""', i)) {
        // Block string: only `\"""` escapes the terminator.
        i += 3;
        while (i < n && !source.startsWith('"""', i)) i += source.startsWith('\\"""', i) ? 4 : 1;
        i += 3;
      } else {
        i++;
        while (i < n) {
          const s = source.charCodeAt(i);
          if (s === 0x5c /* \ */) i += 2;
          else if (s === 0x22 || s === 0x0a || s === 0x0d) break;
          else i++;
        }
        i++;
      }
    } else {
      if (c === 0x7b || c === 0x5b || c === 0x28) deepest = Math.max(deepest, ++depth);
      else if (c === 0x7d || c === 0x5d || c === 0x29) depth = Math.max(0, depth - 1);
      i++;
    }
  }
  return deepest;
}

export function nestingLimitPlugin(maxNesting: number): Plugin {
  // Documents already measured and accepted: clients send the same few documents over and over,
  // and a lookup costs less than walking the text again (Yoga caches the parse, not this check).
  const accepted = new DocumentCache<true>();
  return {
    onParse({ params }) {
      const source: unknown = params.source;
      const text =
        typeof source === "string"
          ? source
          : typeof (source as { body?: unknown } | null)?.body === "string"
            ? (source as { body: string }).body
            : null;
      if (text === null || accepted.get(text) === true) return;
      const nesting = bracketNesting(text);
      if (nesting > maxNesting)
        throw new GraphQLError(
          `Syntax Error: the document nests brackets ${nesting} deep; at most ${maxNesting} levels are accepted.`,
          {
            extensions: { code: "MAX_DEPTH_EXCEEDED", limit: maxNesting, http: { status: 400, spec: true } },
          },
        );
      accepted.set(text, true);
    },
  };
}
