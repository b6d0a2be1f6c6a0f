import { describe, expect, it } from "vitest";
import { type StatusResult, parseBrokerStatus, renderStatus } from "./status-report.js";

const baseStatus = {
  name: "NE",
  state: "running",
  endpoints: { frontend: "tcp://127.0.0.1:7100", backend: "tcp://127.0.0.1:7101" },
  heartbeat: { intervalMs: 1000, liveness: 3 },
  workers: [
    {
      id: "\u0000\u00e4<i\u0001",
      dialect: "gmp",
      services: ["sys.echo", "geo.near", "geo.near@ne", "geo.within"],
      credit: 4,
      inflight: 1,
      draining: false,
      lastSeenMsAgo: 12,
    },
  ],
  services: [
    { name: "sys.echo", workers: 1, queued: 0, inflight: 0, freeCredit: 3 },
    { name: "geo.near", workers: 1, queued: 5, inflight: 1, freeCredit: 3 },
    { name: "nobody.offers", workers: 0, queued: 2, inflight: 0, freeCredit: 0 },
  ],
  freeCapacity: 3,
  pending: 8,
  clients: 2,
  counters: { requests: 10, replies: 2, queueFull: 0, overflowOut: 4, lateReplies: 0 },
};

const ok = (raw: unknown): StatusResult => ({
  region: "NE",
  endpoint: "tcp://127.0.0.1:7100",
  ok: true,
  status: parseBrokerStatus(raw)!,
  raw,
});

describe("status report", () => {
  it("summarises workers, capacity and queue depth per broker", () => {
    const out = renderStatus([
      ok(baseStatus),
      {
        region: "MW",
        endpoint: "tcp://127.0.0.1:7110",
        ok: false,
        state: "unreachable",
        error: "no reply within 2000 ms",
      },
    ]);
    const lines = out.split("\n");
    expect(lines[0]).toMatch(/^REGION\s+STATE\s+WORKERS\s+FREE\s+QUEUED\s+INFLIGHT\s+CLIENTS/);
    expect(lines[1]).toMatch(/^NE\s+running\s+1\s+3\s+7\s+1\s+2\s+-\s+tcp:/);
    expect(lines[2]).toMatch(/^MW\s+unreachable\s+-/);
    expect(out).toContain("00e43c6901"); // binary routing id in hex
    expect(out).toContain("4: sys.echo, geo.near, geo.near@ne, …");
    expect(out).toContain("MW  tcp://127.0.0.1:7110\n  unreachable: no reply within 2000 ms");
    // Key counters always, others only when non-zero.
    expect(out).toContain("counters: requests 10, replies 2, queueFull 0, overflowOut 4");
    expect(out).not.toContain("lateReplies");
  });

  it("lists busy services and ones without workers; --all lists every one", () => {
    const out = renderStatus([ok(baseStatus)]);
    expect(out).toContain("services (3; 1 idle not listed, --all lists them)");
    expect(out).toMatch(/geo\.near\s+1\s+5\s+1\s+3/);
    expect(out).toMatch(/nobody\.offers\s+0\s+2\s+0\s+0/);
    expect(out).not.toMatch(/^\s+sys\.echo\s+1/m);
    expect(renderStatus([ok(baseStatus)], { allServices: true })).toMatch(/^\s+sys\.echo\s+1/m);
  });

  it("renders peers when the broker reports them, as a list or keyed by name", () => {
    const asList = renderStatus([
      ok({
        ...baseStatus,
        peers: [
          { name: "MW", alive: true, capacity: 6, ageMs: 250, inflight: 2 },
          { name: "CA", alive: false, capacity: 0, ageMs: null, inflight: 0 },
        ],
      }),
    ]);
    expect(asList).toMatch(/^NE\s+running.*1\/2 alive/m);
    expect(asList).toMatch(/MW\s+yes\s+6\s+2\s+250 ms ago/);
    expect(asList).toMatch(/CA\s+no\s+0\s+0\s+never/);

    const keyed = renderStatus([
      ok({ ...baseStatus, peers: { SW: { alive: true, capacity: 1, heardAt: Date.now() - 40 } } }),
    ]);
    expect(keyed).toMatch(/SW\s+yes\s+1\s+-\s+\d+ ms ago/);
    expect(renderStatus([ok(baseStatus)])).not.toContain("peers (");
  });

  it("tolerates odd or foreign status bodies", () => {
    expect(parseBrokerStatus(null)).toBeUndefined();
    expect(parseBrokerStatus([1, 2])).toBeUndefined();
    expect(parseBrokerStatus({ error: { code: "X" } })).toBeUndefined();
    const odd = parseBrokerStatus({
      state: "running",
      workers: [null, { credit: "x" }],
      counters: 5,
    });
    expect(odd).toMatchObject({ name: "?", workers: [{ id: "?", credit: 0 }], counters: {} });
    expect(() => renderStatus([ok({ state: "running" })])).not.toThrow();
  });
});
