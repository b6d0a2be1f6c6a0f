import { describe, expect, it } from "vitest";
import { createPrng } from "./prng.js";

describe("createPrng", () => {
  it("produces the same sequence for the same seed and a different one for another seed", () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const c = createPrng(43);
    const seqA = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(seqA);
  });

  it("draws uniforms in [0, 1) and integers in [0, n)", () => {
    const prng = createPrng(7);
    let bad = 0;
    for (let i = 0; i < 100_000; i += 1) {
      const u = prng.next();
      const k = prng.int(6);
      if (!(u >= 0 && u < 1) || !(Number.isInteger(k) && k >= 0 && k < 6)) bad += 1;
    }
    expect(bad).toBe(0);
  });

  it("draws gaussians with mean about 0 and sigma about 1", () => {
    const prng = createPrng(1);
    const n = 100_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i += 1) {
      const z = prng.gaussian();
      sum += z;
      sumSq += z * z;
    }
    const mean = sum / n;
    expect(Number.isFinite(sum) && Number.isFinite(sumSq)).toBe(true);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(Math.sqrt(sumSq / n - mean * mean) - 1)).toBeLessThan(0.02);
  });
});
