// The one evaluator of conditional requests that every download route uses (RFC 9110 §13): each
// branch of its order, its parsers of entity-tag lists and HTTP-dates, and hostile values (huge,
// malformed, padded, repeated) that must neither throw nor take more than linear time.
import type { IncomingHttpHeaders } from "node:http";
import { describe, expect, it } from "vitest";
import {
  evaluatePreconditions,
  parseEntityTags,
  parseHttpDate,
} from "../../src/artifacts/http/preconditions.ts";
import type { Validators } from "../../src/artifacts/http/preconditions.ts";

const HUGE = 1_000_000;
const ETAG = `"${"ab".repeat(32)}"`;
const OTHER = `"${"cd".repeat(32)}"`;
// 12:00:00.750 on the day: Last-Modified is sent (and compared) in whole seconds.
const LAST_MODIFIED = new Date(Date.UTC(2024, 4, 17, 12, 0, 0, 750));
const AT = "Fri, 17 May 2024 12:00:00 GMT";
const BEFORE = "Fri, 17 May 2024 11:59:59 GMT";
const AFTER = "Fri, 17 May 2024 12:00:01 GMT";
const EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT";
const current: Validators = { etag: ETAG, lastModified: LAST_MODIFIED };

/** Test titles: the start of a value, and its length when it is long. */
const label = (value: string) =>
  value.length > 40
    ? `${JSON.stringify(value.slice(0, 20))}… (${value.length} chars)`
    : JSON.stringify(value);
const labelled = (values: readonly string[]) => values.map((value) => [label(value), value] as const);

const evaluate = (headers: IncomingHttpHeaders, method = "GET", validators = current) =>
  evaluatePreconditions(method, headers, validators);

const PROCEED = { outcome: "proceed", range: true };
const WHOLE = { outcome: "proceed", range: false };
const NOT_MODIFIED = { outcome: "not-modified" };
const failed = (header: string) => ({ outcome: "failed", header });

/** Values no parser may choke on: each of them stands for no valid entity-tag and no date. */
const HOSTILE = [
  "",
  " ",
  ",",
  "garbage",
  "W/",
  'W/"',
  '"',
  '"unterminated',
  " ".repeat(HUGE),
  ",".repeat(HUGE),
  '"'.repeat(HUGE),
  "W/".repeat(HUGE / 2),
  'W/"'.repeat(HUGE / 3),
  '"",'.repeat(HUGE / 3),
  `${" ,".repeat(HUGE / 2)}!`,
  "a".repeat(HUGE),
  "\u0000\u00ff\ud800",
];

describe("parseEntityTags", () => {
  it("reads `*` alone as any representation", () => {
    expect(parseEntityTags("*")).toBe("*");
    expect(parseEntityTags("  *  ")).toBe("*");
  });

  it("reads strong and weak tags of a list, with any spaces and empty members", () => {
    expect(parseEntityTags(` ,, "a" ,W/"b",\t"c,d" ,`)).toEqual([
      { weak: false, opaque: '"a"' },
      { weak: true, opaque: '"b"' },
      // A quoted tag may hold a comma: the list is scanned, not split.
      { weak: false, opaque: '"c,d"' },
    ]);
    expect(parseEntityTags('""')).toEqual([{ weak: false, opaque: '""' }]);
  });

  it("drops malformed members and keeps the well-formed ones", () => {
    expect(parseEntityTags(`bare, "x"y, W/z, w/"lower", *, "ok"`)).toEqual([{ weak: false, opaque: '"ok"' }]);
    // An unterminated quote ends the list.
    expect(parseEntityTags(`"ok", "a,b", "open, "never"`)).toEqual([
      { weak: false, opaque: '"ok"' },
      { weak: false, opaque: '"a,b"' },
    ]);
    expect(parseEntityTags(`"ok", "open`)).toEqual([{ weak: false, opaque: '"ok"' }]);
  });

  it.each(labelled(HOSTILE))("finds no tag in %s", (_, value) => {
    const tags = parseEntityTags(value);
    expect(tags === "*" ? [] : tags.filter((t) => t.opaque !== '""')).toEqual([]);
  });

  it("finds a tag after a million characters of padding", () => {
    expect(parseEntityTags(`${" ,".repeat(HUGE / 2)}${ETAG}`)).toEqual([{ weak: false, opaque: ETAG }]);
  });
});

describe("parseHttpDate", () => {
  const may17 = Date.UTC(2024, 4, 17, 12, 0, 0);
  it.each([
    [AT, may17],
    ["  Fri, 17 May 2024 12:00:00 GMT ", may17],
    // The obsolete forms recipients must accept (RFC 9110 §5.6.7).
    ["Friday, 17-May-24 12:00:00 GMT", may17],
    ["Sunday, 06-Nov-94 08:49:37 GMT", Date.UTC(1994, 10, 6, 8, 49, 37)],
    ["Fri May 17 12:00:00 2024", may17],
    ["Sun Nov  6 08:49:37 1994", Date.UTC(1994, 10, 6, 8, 49, 37)],
    [EPOCH, 0],
    // A leap second.
    ["Sat, 31 Dec 2016 23:59:60 GMT", Date.UTC(2017, 0, 1)],
  ])("reads %j", (value, ms) => {
    expect(parseHttpDate(value)).toBe(ms);
  });

  it.each(
    labelled([
      "1",
      "2024",
      "2024-05-17T12:00:00Z",
      "Fri, 17 May 2024 12:00:00 UTC",
      "Fri, 17 May 2024 12:00:00 gmt",
      "Xyz, 17 May 2024 12:00:00 GMT",
      "Fri, 17 Mai 2024 12:00:00 GMT",
      "Fri, 30 Feb 2024 12:00:00 GMT",
      "Fri, 00 May 2024 12:00:00 GMT",
      "Fri, 17 May 2024 24:00:00 GMT",
      "Fri, 17 May 2024 12:60:00 GMT",
      "Fri, 17 May 2024 12:00:61 GMT",
      "Fri, 17 May 2024 12-00-00 GMT",
      "Fri, 1x May 2024 12:00:00 GMT",
      "Fri; 17 May 2024 12:00:00 GMT",
      "Fri, 17 May +024 12:00:00 GMT",
      "Friday, 17-May-24 12:00:00 UTC",
      "Friday, 17 May 24 12:00:00 GMT",
      "Fryday, 17-May-24 12:00:00 GMT",
      "Fri, 17-May-24 12:00:00 GMT",
      "Fri May 17 12:00:00 2O24",
      "Fri May 1  12:00:00 2024",
      "Xyz May 17 12:00:00 2024",
      ` ${AT}${" ".repeat(HUGE)}x`,
      ...HOSTILE,
    ]),
  )("refuses %s", (_, value) => {
    expect(parseHttpDate(value)).toBeNull();
  });
});

describe("evaluatePreconditions", () => {
  it("serves a request without conditions, Range and all", () => {
    expect(evaluate({})).toEqual(PROCEED);
    expect(evaluate({ range: "bytes=0-1" })).toEqual(PROCEED);
  });

  describe("If-Match (strong comparison)", () => {
    it.each(labelled([ETAG, `${OTHER}, ${ETAG}`, `  ${ETAG}  `, "*", ` , ${ETAG} ,`]))(
      "holds for %s",
      (_, value) => {
        expect(evaluate({ "if-match": value })).toEqual(PROCEED);
      },
    );

    it.each(
      labelled([OTHER, `W/${ETAG}`, `"${ETAG}"`, ETAG.slice(1, -1), `${ETAG}x`, `*, ${OTHER}`, ...HOSTILE]),
    )("fails (412) for %s", (_, value) => {
      expect(evaluate({ "if-match": value })).toEqual(failed("If-Match"));
    });

    it("reads a repeated header as one list", () => {
      expect(evaluate({ "if-match": [OTHER, ETAG] } as unknown as IncomingHttpHeaders)).toEqual(PROCEED);
    });

    it("is evaluated instead of If-Unmodified-Since, and before If-None-Match", () => {
      expect(evaluate({ "if-match": ETAG, "if-unmodified-since": EPOCH })).toEqual(PROCEED);
      expect(evaluate({ "if-match": OTHER, "if-none-match": ETAG })).toEqual(failed("If-Match"));
      expect(evaluate({ "if-match": ETAG, "if-none-match": ETAG })).toEqual(NOT_MODIFIED);
    });

    it("fails on HEAD as on GET", () => {
      expect(evaluate({ "if-match": OTHER }, "HEAD")).toEqual(failed("If-Match"));
    });
  });

  describe("If-Unmodified-Since", () => {
    it("fails (412) when the representation changed after the date", () => {
      expect(evaluate({ "if-unmodified-since": EPOCH })).toEqual(failed("If-Unmodified-Since"));
      expect(evaluate({ "if-unmodified-since": BEFORE }, "HEAD")).toEqual(failed("If-Unmodified-Since"));
      expect(evaluate({ "if-unmodified-since": BEFORE, "if-none-match": ETAG })).toEqual(
        failed("If-Unmodified-Since"),
      );
    });

    it("holds at or after Last-Modified, compared in whole seconds", () => {
      expect(evaluate({ "if-unmodified-since": AT })).toEqual(PROCEED);
      expect(evaluate({ "if-unmodified-since": AFTER })).toEqual(PROCEED);
    });

    it("is ignored when it is not an HTTP-date, or the representation has no Last-Modified", () => {
      for (const value of ["1970", "yesterday", ...HOSTILE])
        expect(evaluate({ "if-unmodified-since": value })).toEqual(PROCEED);
      expect(evaluate({ "if-unmodified-since": EPOCH }, "GET", { etag: ETAG, lastModified: null })).toEqual(
        PROCEED,
      );
    });
  });

  describe("If-None-Match (weak comparison)", () => {
    it.each(labelled([ETAG, `W/${ETAG}`, `${OTHER}, W/${ETAG}`, "*", `${" ,".repeat(HUGE / 2)}${ETAG}`]))(
      "answers 304 for %s",
      (_, value) => {
        expect(evaluate({ "if-none-match": value })).toEqual(NOT_MODIFIED);
        expect(evaluate({ "if-none-match": value }, "HEAD")).toEqual(NOT_MODIFIED);
      },
    );

    it.each(labelled([OTHER, `W/${OTHER}`, ETAG.slice(1, -1), ...HOSTILE]))(
      "serves the representation for %s",
      (_, value) => {
        expect(evaluate({ "if-none-match": value, range: "bytes=0-1" })).toEqual(PROCEED);
      },
    );

    it("fails (412) on a method that is not a read", () => {
      expect(evaluate({ "if-none-match": "*" }, "PUT")).toEqual(failed("If-None-Match"));
      expect(evaluate({ "if-none-match": OTHER }, "PUT")).toEqual(WHOLE);
    });

    it("is evaluated instead of If-Modified-Since", () => {
      expect(evaluate({ "if-none-match": OTHER, "if-modified-since": AFTER })).toEqual(PROCEED);
    });
  });

  describe("If-Modified-Since", () => {
    it("answers 304 when Last-Modified (in whole seconds) is not after the date", () => {
      expect(evaluate({ "if-modified-since": AT })).toEqual(NOT_MODIFIED);
      expect(evaluate({ "if-modified-since": AFTER }, "HEAD")).toEqual(NOT_MODIFIED);
    });

    it("serves a representation changed since", () => {
      expect(evaluate({ "if-modified-since": BEFORE })).toEqual(PROCEED);
    });

    it("is ignored when invalid, without Last-Modified, or on a method that is not a read", () => {
      for (const value of ["2099", ...HOSTILE])
        expect(evaluate({ "if-modified-since": value })).toEqual(PROCEED);
      expect(evaluate({ "if-modified-since": AFTER }, "GET", { etag: ETAG, lastModified: null })).toEqual(
        PROCEED,
      );
      expect(evaluate({ "if-modified-since": AFTER }, "PUT")).toEqual(WHOLE);
    });
  });

  describe("If-Range", () => {
    const ranged = (ifRange: string, method = "GET") =>
      evaluate({ range: "bytes=2-5", "if-range": ifRange }, method);

    it("lets the Range apply when it names the current ETag", () => {
      expect(ranged(ETAG)).toEqual(PROCEED);
      expect(ranged(` ${ETAG} `, "HEAD")).toEqual(PROCEED);
    });

    it.each(
      labelled([
        OTHER,
        // Strong comparison: a weak tag never vouches for the bytes a resumed download splices on.
        `W/${ETAG}`,
        `${ETAG}, ${OTHER}`,
        `${OTHER}, ${ETAG}`,
        "*",
        // A date never matches: two representations may share a Last-Modified second.
        AT,
        ...HOSTILE,
      ]),
    )("sends the whole representation for %s", (_, value) => {
      expect(ranged(value)).toEqual(WHOLE);
    });

    it("is ignored without a Range, and comes after the other conditions", () => {
      expect(evaluate({ "if-range": OTHER })).toEqual(PROCEED);
      expect(evaluate({ range: "bytes=2-5", "if-range": ETAG, "if-match": OTHER })).toEqual(
        failed("If-Match"),
      );
      expect(evaluate({ range: "bytes=2-5", "if-range": OTHER, "if-none-match": ETAG })).toEqual(
        NOT_MODIFIED,
      );
      expect(evaluate({ range: "bytes=2-5", "if-range": ETAG, "if-match": ETAG })).toEqual(PROCEED);
    });

    it("never applies a Range to a method that is not a read", () => {
      expect(ranged(ETAG, "PUT")).toEqual(WHOLE);
    });
  });
});
