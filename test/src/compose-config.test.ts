/**
 * docker-compose.yml and the config the containers read must agree: one MongoDB, broker and
 * worker service per region, brokers reachable under the hosts the config names, stores on the
 * region's own MongoDB (each region's workers hold only that one), the gateway's port published. (`docker-compose config -q` in CI checks
 * the file's syntax; this checks its meaning.)
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseClusterConfig } from "@geomesh/config";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

interface Service {
  command?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
}

const compose = parse(readFileSync(root("docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};
const config = parseClusterConfig(
  JSON.parse(readFileSync(root("infra/docker/geomesh.config.json"), "utf8")),
  "infra/docker/geomesh.config.json",
);

describe("docker-compose.yml", () => {
  it("has a healthchecked MongoDB, a broker and workers for every configured region", () => {
    for (const region of config.regions) {
      const slug = region.name.toLowerCase();
      expect(compose.services[`mongo-${slug}`]?.healthcheck, slug).toBeDefined();
      expect(compose.services[`broker-${slug}`]?.command).toEqual([
        "broker",
        "--region",
        region.name,
      ]);
      const worker = compose.services[`worker-${slug}`];
      expect(worker?.command?.slice(0, 3)).toEqual(["worker", "--region", region.name]);
      expect(worker?.deploy?.replicas).toBeGreaterThanOrEqual(2);
      expect(worker?.depends_on?.[`mongo-${slug}`]?.condition).toBe("service_healthy");
    }
  });

  it("runs workers in the deployment shape: each holds only its own region's MongoDB", () => {
    for (const region of config.regions) {
      const slug = region.name.toLowerCase();
      const worker = compose.services[`worker-${slug}`]!;
      expect(worker.command).toContain("--own-store");
      expect(worker.command).not.toContain("--store");
      // It waits for its own store only; other regions are reached through the brokers.
      expect(
        Object.keys(worker.depends_on ?? {})
          .filter((s) => s.startsWith("mongo-"))
          .sort(),
      ).toEqual([`mongo-${slug}`]);
      expect(worker.depends_on?.[`broker-${slug}`]).toBeDefined();
    }
  });

  it("names brokers and stores as the config the containers read does", () => {
    for (const region of config.regions) {
      const slug = region.name.toLowerCase();
      for (const endpoint of Object.values(region.endpoints))
        expect(endpoint).toMatch(new RegExp(`^tcp://broker-${slug}:\\d+$`));
      expect(region.store).toBe(`mongodb://mongo-${slug}:27017/geomesh`);
      const port = /:(\d+)$/.exec(region.endpoints.frontend)![1];
      expect(compose.services[`broker-${slug}`]?.ports).toContain(`${port}:${port}`);
    }
    expect(compose.services.broker_ne).toBeUndefined();
    const env = compose.services[`broker-${config.regions[0]!.name.toLowerCase()}`]?.environment;
    expect(env?.GEOMESH_CONFIG).toBe("/app/infra/docker/geomesh.config.json");
    expect(env?.GEOMESH_BIND_HOST).toBe("0.0.0.0");
  });

  it("publishes the gateway's port and runs a one-shot loader", () => {
    expect(compose.services.gateway?.command).toEqual(["gateway"]);
    expect(compose.services.gateway?.ports).toContain(
      `${config.gateway.port}:${config.gateway.port}`,
    );
    expect(compose.services.loader?.command?.[0]).toBe("load");
  });
});
