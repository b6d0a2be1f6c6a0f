/**
 * `npm run bench -- [scenario...] [--quick]`: runs the named scenarios (all by default) and
 * rewrites their sections of docs/benchmarks.md, leaving the others as they were.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import type { BenchReport, Scenario } from "./report.js";

const SCENARIOS: Record<string, () => Promise<{ run: Scenario }>> = {
  broker: () => import("./broker.js"),
  e2e: () => import("./e2e.js"),
  live: () => import("./live.js"),
  overflow: () => import("./overflow.js"),
  store: () => import("./store.js"),
};

const DOC = fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url));

function render(report: BenchReport, quick: boolean): string {
  const lines = [
    `### ${report.title}`,
    "",
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}${quick ? " (quick run: reduced sizes)" : ""}.`,
    "",
    "| metric | geomesh | baseline | ratio | target | meets target |",
    "| --- | --- | --- | --- | --- | --- |",
    ...report.rows.map(
      (r) =>
        `| ${r.metric} | ${r.value} | ${r.baseline ?? ""} | ${r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`} | ${r.target ?? ""} | ${r.pass === undefined ? "" : r.pass ? "yes" : "**no**"} |`,
    ),
    "",
    ...report.notes.map((n) => `- ${n}`),
  ];
  return lines.join("\n");
}

function updateDoc(sections: Map<string, string>): void {
  let doc = readFileSync(DOC, "utf8");
  for (const [name, body] of sections) {
    const start = `<!-- bench:${name}:start -->`;
    const end = `<!-- bench:${name}:end -->`;
    const block = `${start}\n${body}\n${end}`;
    const re = new RegExp(`${start}[\\s\\S]*?${end}`);
    doc = re.test(doc) ? doc.replace(re, block) : `${doc.trimEnd()}\n\n${block}\n`;
  }
  writeFileSync(DOC, doc);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const names = args.filter((a) => !a.startsWith("--"));
  const unknown = names.filter((n) => !(n in SCENARIOS));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown benchmark(s): ${unknown.join(", ")}; available: ${Object.keys(SCENARIOS).join(", ")}\n`,
    );
    process.exit(2);
  }
  const selected = names.length > 0 ? names : Object.keys(SCENARIOS);
  const sections = new Map<string, string>();
  for (const name of selected) {
    const log = (line: string) => process.stdout.write(`[${name}] ${line}\n`);
    log("running…");
    const { run } = await SCENARIOS[name]!();
    const report = await run({ quick, log });
    for (const row of report.rows) {
      log(
        `${row.metric}: ${row.value}${row.baseline ? ` vs ${row.baseline}` : ""}${row.ratio === undefined ? "" : ` = ${row.ratio.toFixed(2)}×`}${row.target ? ` (target ${row.target}: ${row.pass ? "met" : "NOT met"})` : ""}`,
      );
    }
    sections.set(name, render(report, quick));
  }
  updateDoc(sections);
  process.stdout.write(`wrote ${DOC}\n`);
}

await main();
