import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthetic } from "@geomesh/datasets";
import { EmbeddedGeoStore } from "@geomesh/store-embedded";
const n = Number(process.argv[2] ?? 1_000_000);
const batchSize = Number(process.argv[3] ?? 5000);
const t0 = performance.now();
const all = [...synthetic(n, { seed: 20240601 })];
console.log("gen ms", performance.now() - t0);
const dir = mkdtempSync(join(tmpdir(), "probe-"));
const store = new EmbeddedGeoStore({ path: join(dir, "b.sqlite"), region: "BENCH", cacheSizeKiB: Number(process.env.CACHE ?? 32768) });
await store.init();
const t1 = performance.now();
let last = t1;
for (let i = 0; i < n; i += batchSize) {
  await store.upsert(all.slice(i, i + batchSize));
  if ((i + batchSize) % 200000 === 0) { const now = performance.now(); console.log(i + batchSize, Math.round(200000 / ((now - last) / 1000))); last = now; }
}
console.log("rate", Math.round(n / ((performance.now() - t1) / 1000)));
await store.close();
