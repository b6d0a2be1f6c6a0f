import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitRecords, type SplitRecord } from "./record-splitter.js";
import { collect, tempFiles, type TempFiles } from "./temp-files.js";

/** Whole-dataset and big-file tests share a noisy machine with parallel test files. */
const HEAVY = { timeout: 30_000 };

let files: TempFiles;
beforeAll(async () => {
  files = await tempFiles();
});
afterAll(() => files.remove());

function show(records: SplitRecord[]): [number, string | number][] {
  return records.map((r) =>
    "bytes" in r ? [r.row, r.bytes.toString("latin1")] : [r.row, r.oversizeBytes],
  );
}

describe("splitRecords", () => {
  it("cuts LF and CRLF lines, numbers them by line and drops empty ones", async () => {
    const path = await files.write("lines.txt", "a\r\nb\n\n\r\nc\nlast");
    const out = await collect(
      splitRecords(files.stream(path), { maxRecordBytes: 100, csvQuotes: false }),
    );
    expect(show(out)).toEqual([
      [1, "a"],
      [2, "b"],
      [5, "c"],
      [6, "last"],
    ]);
  });

  it("strips a UTF-8 byte order mark at the start", async () => {
    const path = await files.write("bom.txt", "\uFEFFid\nx\n");
    for (const chunk of [1, 2, 3, 64]) {
      const out = await collect(
        splitRecords(files.stream(path, chunk), { maxRecordBytes: 100, csvQuotes: true }),
      );
      expect(show(out)).toEqual([
        [1, "id"],
        [2, "x"],
      ]);
    }
  });

  it("keeps line breaks inside quoted CSV fields and numbers the next record by its own line", async () => {
    const path = await files.write(
      "quoted.csv",
      'a,"x\ny, ""q""\nz",b\nnext,  "1\n2"\nplain"quote\nend\n',
    );
    const out = await collect(
      splitRecords(files.stream(path), { maxRecordBytes: 100, csvQuotes: true }),
    );
    expect(show(out)).toEqual([
      [1, 'a,"x\ny, ""q""\nz",b'],
      [4, 'next,  "1\n2"'],
      [6, 'plain"quote'],
      [7, "end"],
    ]);
  });

  it("reports a record over the cap by size, without keeping it, and goes on", async () => {
    const path = await files.write("long.txt", `short\n${"x".repeat(5000)}\nafter\n`);
    const out = await collect(
      splitRecords(files.stream(path, 256), { maxRecordBytes: 1000, csvQuotes: false }),
    );
    expect(show(out)).toEqual([
      [1, "short"],
      [2, 5000],
      [3, "after"],
    ]);
  });

  it("gives the same records whatever the chunk size", HEAVY, async () => {
    const cell = fc.oneof(
      fc.constantFrom("", "a", '"q,\n""x"""', '  "y"', "\r", "é", ","),
      fc.string({ maxLength: 5 }),
    );
    const lines = fc.array(
      fc.array(cell, { maxLength: 4 }).map((cells) => cells.join(",")),
      { maxLength: 12 },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        lines,
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        async (rows, chunk, csvQuotes) => {
          const path = await files.write(`prop-${(n += 1)}.csv`, rows.join("\n"));
          const whole = await collect(
            splitRecords(files.stream(path), { maxRecordBytes: 30, csvQuotes }),
          );
          const chunked = await collect(
            splitRecords(files.stream(path, chunk), { maxRecordBytes: 30, csvQuotes }),
          );
          expect(show(chunked)).toEqual(show(whole));
        },
      ),
      { numRuns: 150 },
    );
  });
});
