import type { LoadSummary } from "./load-places.js";

const number = new Intl.NumberFormat("en-US");

/** Reasons can quote a hostile file: control characters (terminal escapes, newlines) are masked. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}

export interface FormatSummaryOptions {
  /** Reasons listed (most frequent first); default 10. */
  readonly maxReasons?: number;
}

/**
 * Renders the closing summary of a load for people, e.g.
 *
 * ```text
 * read 1,204 rows: 1,200 accepted, 4 rejected
 * accepted by region:
 *   CA      310
 *   NE      890
 * rejected:
 *   3 × outside every region (more than 50 km from all) — rows 17, 40, 41
 * ```
 */
export function formatSummary(summary: LoadSummary, options: FormatSummaryOptions = {}): string {
  const maxReasons = options.maxReasons ?? 10;
  const lines = [
    `read ${number.format(summary.read)} row${summary.read === 1 ? "" : "s"}: ${number.format(summary.accepted)} accepted, ${number.format(summary.rejected)} rejected`,
  ];
  const regions = Object.entries(summary.byRegion);
  if (regions.length > 0) {
    lines.push("accepted by region:");
    const nameWidth = Math.max(...regions.map(([name]) => name.length));
    const countWidth = Math.max(...regions.map(([, n]) => number.format(n).length));
    for (const [name, count] of regions)
      lines.push(
        `  ${printable(name).padEnd(nameWidth)}  ${number.format(count).padStart(countWidth)}`,
      );
  }
  if (summary.reasons.length > 0) {
    lines.push(
      summary.reasons.length > maxReasons
        ? `rejected (top ${maxReasons} of ${summary.reasons.length} reasons):`
        : "rejected:",
    );
    for (const r of summary.reasons.slice(0, maxReasons)) {
      const rows =
        r.examples.length === 0
          ? ""
          : ` — row${r.examples.length === 1 ? "" : "s"} ${r.examples.join(", ")}${r.count > r.examples.length ? ", …" : ""}`;
      lines.push(`  ${number.format(r.count)} × ${printable(r.reason)}${rows}`);
    }
  }
  return lines.join("\n");
}
