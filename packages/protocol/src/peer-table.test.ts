import { describe, expect, it } from "vitest";
import { PeerTable } from "./peer-table.js";

describe("PeerTable", () => {
  it("keeps capacity per peer: one peer's announcement does not overwrite another's (peering3 fix 1)", () => {
    const t = new PeerTable(["A", "B"], 3000);
    t.update("A", 5, 1000);
    t.update("B", 2, 1001);
    expect(t.get("A")).toMatchObject({ capacity: 5, heardAt: 1000, alive: true });
    expect(t.get("B")).toMatchObject({ capacity: 2, heardAt: 1001, alive: true });
  });

  it("declares a peer dead after liveness × interval of silence, and alive again when it speaks (fix 2)", () => {
    const t = new PeerTable(["A"], 3000);
    t.update("A", 4, 1000);
    expect(t.expire(3999)).toHaveLength(0);
    expect(t.expire(4001).map((p) => p.name)).toEqual(["A"]);
    expect(t.pickMostFree()).toBeUndefined();
    expect(t.update("A", 1, 5000)).toBe(true);
    expect(t.pickMostFree()?.name).toBe("A");
  });

  it("picks the live peer with the most free capacity and decrements its view on each send (fix 3)", () => {
    const t = new PeerTable(["A", "B", "C"], 3000);
    t.update("A", 2, 0);
    t.update("B", 3, 0);
    t.update("C", 9, 0);
    t.kill("C");
    const picks: string[] = [];
    for (let i = 0; i < 6; i++) {
      const p = t.pickMostFree();
      if (!p) break;
      picks.push(p.name);
      t.consume(p.name);
    }
    expect(picks).toEqual(["B", "A", "B", "A", "B"].slice(0, 5));
    expect(t.pickMostFree()).toBeUndefined();
  });

  it("never picks an excluded peer and ignores unknown names", () => {
    const t = new PeerTable(["A"], 3000);
    t.update("A", 3, 0);
    expect(t.pickMostFree("a")).toBeUndefined();
    expect(t.update("Z", 10, 0)).toBe(false);
  });

  it("picks only peers whose workers serve the region of a region-qualified request", () => {
    const t = new PeerTable(["A", "B", "C"], 3000);
    t.update("A", 9, 1000, new Set(["a"]));
    t.update("B", 2, 1000, new Set(["b", "c"]));
    t.update("C", 5, 1000); // an older broker: no list, taken to serve every region
    expect(t.pickMostFree(undefined, "b")?.name).toBe("C");
    expect(t.pickMostFree("C", "b")?.name).toBe("B");
    expect(t.pickMostFree("C", "z")).toBeUndefined();
    expect(t.pickMostFree()?.name).toBe("A"); // unqualified: anyone
    expect(t.anyServes("a")).toBe(true);
    t.kill("A");
    t.kill("C");
    expect(t.anyServes("a")).toBe(false);
    expect(t.anyServes("c")).toBe(true);
  });
});
