import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { renderErrorsDoc } from "./errors-doc.js";

const docPath = fileURLToPath(new URL("../../../docs/errors.md", import.meta.url));

describe("docs/errors.md", () => {
  it("lists exactly the codes of the error table, with their status and retry hint", () => {
    const doc = readFileSync(docPath, "utf8");
    const start = doc.indexOf("<!-- codes:start -->");
    const end = doc.indexOf("<!-- codes:end -->");
    expect(start, "docs/errors.md needs the codes markers").toBeGreaterThan(-1);
    const table = doc.slice(start + "<!-- codes:start -->".length, end).trim();
    // Regenerate with: node --import tsx -e 'import("@geomesh/errors").then(m=>console.log(m.renderErrorsDoc()))'
    // Compare cell by cell: a formatter may pad the table's columns.
    const cells = (text: string) =>
      text
        .trim()
        .split("\n")
        .map((row) =>
          row
            .split("|")
            .map((c) => c.trim().replace(/^-{3,}$/, "---"))
            .join("|"),
        );
    expect(cells(table)).toEqual(cells(renderErrorsDoc()));
  });
});
