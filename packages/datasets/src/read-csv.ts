import { GeomeshError } from "@geomesh/errors";
import { parse } from "csv-parse/sync";
import { parseCsvHeader, type CsvColumns } from "./csv-header.js";
import { csvRowToPlaceBody, numericColumns } from "./csv-row-to-place-body.js";
import { decodeUtf8 } from "./decode-utf8.js";
import { oversizeReason } from "./oversize-reason.js";
import { DEFAULT_MAX_ROW_BYTES, type CsvReadOptions } from "./read-options.js";
import { splitRecords } from "./record-splitter.js";
import { rejectRow, type RowResult } from "./row-result.js";
import { validatePlaceBody } from "./validate-place.js";

/** Records parsed by csv-parse in one call: amortises its per-call set-up (about 4× faster). */
const PARSE_BATCH = 256;

// Records arrive framed and "\n"-joined, so "\n" is the only delimiter (no auto-detection, which
// could take a stray "\r" in one record for the delimiter of the whole batch).
const CSV_OPTIONS = {
  relax_quotes: true,
  relax_column_count: true,
  skip_empty_lines: false,
  trim: true,
  record_delimiter: "\n",
} as const;

/** csv-parse's messages count lines within what it was given; the row number is ours. */
function csvReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `invalid CSV: ${message.replace(/ at line \d+/g, "").slice(0, 300)}`;
}

function parseOne(text: string): string[] | string {
  try {
    const records = parse(text, CSV_OPTIONS) as unknown;
    if (Array.isArray(records) && records.length === 1 && Array.isArray(records[0]))
      return records[0] as string[];
    return "invalid CSV: the row does not form one record";
  } catch (err) {
    return csvReason(err);
  }
}

/**
 * Reads CSV with a header row (see `parseCsvHeader` for the columns). Records are framed here
 * (quote-aware, capped at `maxRowBytes`, checked for UTF-8) and their fields parsed by
 * csv-parse; rows are numbered by the line they start on (the header is line 1). Blank lines
 * are skipped. Extra columns become properties; with `numbers: "auto"` a column whose cells in
 * the first 256 rows are all clearly numeric holds numbers. A bad record is one refused row; a
 * bad header throws a GeomeshError.
 */
export async function* readCsv(
  source: AsyncIterable<Uint8Array>,
  options: CsvReadOptions = {},
): AsyncGenerator<RowResult> {
  const maxRowBytes = options.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES;
  const numbers = options.numbers ?? "auto";
  let columns: CsvColumns | undefined;
  let pending: { row: number; text: string }[] = [];
  let numeric: ReadonlySet<number> | undefined;

  function* flush(): Generator<RowResult> {
    if (pending.length === 0 || columns === undefined) return;
    const batch = pending;
    pending = [];
    let records: unknown;
    try {
      records = parse(batch.map((r) => r.text).join("\n"), CSV_OPTIONS);
    } catch {
      records = undefined; // one bad record spoils the batch: parse them one by one below
    }
    const together =
      Array.isArray(records) && records.length === batch.length
        ? (records as string[][])
        : undefined;
    const parsed = batch.map(({ text }, i) => together?.[i] ?? parseOne(text));
    // Column types are decided once, on the first rows (up to PARSE_BATCH of them).
    numeric ??=
      numbers === "strings"
        ? new Set()
        : numericColumns(
            parsed.filter((f) => typeof f !== "string"),
            columns,
          );
    for (const [i, { row }] of batch.entries()) {
      const fields = parsed[i]!;
      if (typeof fields === "string") {
        yield rejectRow(row, "BAD_REQUEST", fields);
        continue;
      }
      const mapped = csvRowToPlaceBody(fields, columns, numeric);
      yield mapped.ok
        ? validatePlaceBody(row, mapped.body)
        : rejectRow(row, mapped.code, mapped.reason);
    }
  }

  for await (const record of splitRecords(source, {
    maxRecordBytes: maxRowBytes,
    csvQuotes: true,
  })) {
    if ("oversizeBytes" in record) {
      const reason = oversizeReason("the record", record.oversizeBytes, maxRowBytes);
      if (columns === undefined) throw new GeomeshError("LIMIT_EXCEEDED", `CSV header: ${reason}`);
      yield* flush();
      yield rejectRow(record.row, "LIMIT_EXCEEDED", reason);
      continue;
    }
    const text = decodeUtf8(record.bytes);
    if (text === undefined) {
      if (columns === undefined)
        throw new GeomeshError("VALIDATION_FAILED", "CSV header: invalid UTF-8");
      yield* flush();
      yield rejectRow(record.row, "BAD_REQUEST", "invalid UTF-8 in the record");
      continue;
    }
    if (text.trim() === "") continue;
    if (columns === undefined) {
      const names = parseOne(text);
      if (typeof names === "string")
        throw new GeomeshError("VALIDATION_FAILED", `CSV header: ${names}`);
      columns = parseCsvHeader(names);
      continue;
    }
    pending.push({ row: record.row, text });
    if (pending.length >= PARSE_BATCH) yield* flush();
  }
  yield* flush();
}
