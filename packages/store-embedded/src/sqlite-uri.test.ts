import { describe, expect, it } from "vitest";
import { sqlitePathOf } from "./sqlite-uri.js";

describe("sqlite store URIs", () => {
  it.each([
    ["sqlite:data/ne.sqlite", "data/ne.sqlite"],
    ["sqlite:./data/ne.sqlite", "./data/ne.sqlite"],
    ["sqlite:/var/lib/geomesh/ne.sqlite", "/var/lib/geomesh/ne.sqlite"],
    ["sqlite:///var/lib/geomesh/ne.sqlite", "/var/lib/geomesh/ne.sqlite"],
    ["SQLITE:x.db", "x.db"],
    ["sqlite::memory:", ":memory:"],
  ])("reads %s as the file %s", (uri, path) => {
    expect(sqlitePathOf(uri)).toBe(path);
  });

  it.each(["sqlite:", "mongodb://h/db", "sqlite://"])("refuses %s as CONFIG_INVALID", (uri) => {
    expect(() => sqlitePathOf(uri)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
  });
});
