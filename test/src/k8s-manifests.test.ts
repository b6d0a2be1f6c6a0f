/**
 * infra/k8s/base and the cluster config it carries must agree: every Service selects one
 * workload and targets ports it declares, the config's broker endpoints and store URIs are
 * Services and ports that exist, every region has its MongoDB, broker and workers, and the
 * container args are commands the geomesh CLI has. No cluster is needed: the files are parsed
 * as written (and rendered with `kubectl kustomize` where kubectl is installed).
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  type ClusterConfig,
  DEFAULT_REGION_STATES,
  type RegionConfig,
  parseClusterConfig,
} from "@geomesh/config";
import type { Deployment, StatefulSet } from "kubernetes-types/apps/v1.js";
import type { Job } from "kubernetes-types/batch/v1.js";
import type {
  ConfigMap,
  Container,
  PodTemplateSpec,
  Probe,
  Service,
} from "kubernetes-types/core/v1.js";
import type { PodDisruptionBudget } from "kubernetes-types/policy/v1.js";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { GEOMESH_BIN } from "./helpers/processes.js";

const run = promisify(execFile);
const BASE = fileURLToPath(new URL("../../infra/k8s/base/", import.meta.url));
const DOCKER_CONFIG = fileURLToPath(
  new URL("../../infra/docker/geomesh.config.json", import.meta.url),
);
const read = (file: string) => readFileSync(`${BASE}${file}`, "utf8");

/** The image the geomesh CLI containers run (the kustomize `images:` entry of that name). */
const GEOMESH_IMAGE = "geomesh";
const CONFIG_MAP = "geomesh-config";
const REGION_LABEL = "geomesh.io/region";
const ENDPOINT_KINDS = ["frontend", "backend", "cloud", "state", "events"] as const;

interface Kustomization {
  resources?: string[];
  configMapGenerator?: { name: string; files?: string[] }[];
  images?: { name: string; newName?: string; newTag?: string }[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
}

type Workload = Deployment | StatefulSet | Job;
type Manifest = Workload | Service | PodDisruptionBudget;

interface Loaded {
  readonly file: string;
  readonly object: Manifest;
}

const kustomization = parse(read("kustomization.yaml")) as Kustomization;
const resourceFiles = kustomization.resources ?? [];

const yamlErrors: string[] = [];
const loaded: Loaded[] = resourceFiles
  .filter((file) => existsSync(`${BASE}${file}`))
  .flatMap((file) =>
    parseAllDocuments(read(file)).flatMap((doc) => {
      for (const error of doc.errors) yamlErrors.push(`${file}: ${error.message}`);
      const object = doc.toJS() as Manifest | null;
      return object ? [{ file, object }] : [];
    }),
  );
const manifests = loaded.map((l) => l.object);

// `files:` entries are `path` or `key=path`; the key defaults to the file's name.
const generator = kustomization.configMapGenerator?.find((g) => g.name === CONFIG_MAP);
const generatorFiles = (generator?.files ?? []).map((entry) => {
  const [key, path] = entry.includes("=") ? entry.split("=", 2) : [undefined, entry];
  return { key: key ?? path.split("/").pop()!, path };
});
const { key: configKey, path: configFile } = generatorFiles[0] ?? { key: "", path: "" };
const config: ClusterConfig = parseClusterConfig(
  JSON.parse(read(configFile)),
  `infra/k8s/base/${configFile}`,
);

const deployments = manifests.filter((m): m is Deployment => m.kind === "Deployment");
const statefulSets = manifests.filter((m): m is StatefulSet => m.kind === "StatefulSet");
const jobs = manifests.filter((m): m is Job => m.kind === "Job");
const services = manifests.filter((m): m is Service => m.kind === "Service");
const budgets = manifests.filter((m): m is PodDisruptionBudget => m.kind === "PodDisruptionBudget");
const workloads: Workload[] = [...deployments, ...statefulSets, ...jobs];

const nameOf = (m: Manifest) => m.metadata?.name ?? "";
const templateOf = (w: Workload): PodTemplateSpec => w.spec?.template ?? {};
const containersOf = (w: Workload): Container[] => templateOf(w).spec?.containers ?? [];
const allContainersOf = (w: Workload): Container[] => [
  ...(templateOf(w).spec?.initContainers ?? []),
  ...containersOf(w),
];
const imageName = (image: string | undefined) => (image ?? "").replace(/[:@].*$/, "");
const isGeomesh = (c: Container) => imageName(c.image) === GEOMESH_IMAGE;
const geomeshContainers = (w: Workload) => containersOf(w).filter(isGeomesh);
const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.value;

/** True when every selector label is on the pod template. */
const selects = (selector: Record<string, string> | undefined, w: Workload) => {
  const labels = templateOf(w).metadata?.labels ?? {};
  const pairs = Object.entries(selector ?? {});
  return pairs.length > 0 && pairs.every(([k, v]) => labels[k] === v);
};
const selectedBy = (selector: Record<string, string> | undefined) =>
  [...deployments, ...statefulSets].filter((w) => selects(selector, w));

/** A port reference (number or containerPort name) as the number it resolves to. */
const resolvePort = (containers: Container[], port: number | string | undefined) => {
  if (typeof port === "number") return port;
  for (const c of containers) {
    const hit = c.ports?.find((p) => p.name === port);
    if (hit) return hit.containerPort;
  }
  return undefined;
};

/** The Deployments whose geomesh container runs `geomesh <command> --region <region>`. */
const running = (command: string, region: string) =>
  deployments.filter((d) =>
    geomeshContainers(d).some((c) => {
      const args = c.args ?? [];
      return args[0] === command && args[1] === "--region" && args[2] === region;
    }),
  );

const parseEndpoint = (endpoint: string) => {
  const m = /^tcp:\/\/([^:]+):(\d+)$/.exec(endpoint);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
};

const regionObjects = (region: RegionConfig) =>
  loaded.filter((l) => l.object.metadata?.labels?.[REGION_LABEL] === region.name);

describe("infra/k8s/base", () => {
  it("lists every manifest file in kustomization.yaml, and every listed file exists", () => {
    const listed = [...resourceFiles, ...generatorFiles.map((f) => f.path)];
    for (const file of listed) expect(existsSync(`${BASE}${file}`), file).toBe(true);
    const present = readdirSync(BASE).filter((f) => f !== "kustomization.yaml");
    expect([...present].sort()).toEqual([...listed].sort());
    expect(resourceFiles.length).toBeGreaterThan(0);
    expect(resourceFiles.every((f) => /\.ya?ml$/.test(f))).toBe(true);
  });

  it("parses every manifest without YAML errors into uniquely named objects with no fixed namespace", () => {
    expect(yamlErrors).toEqual([]);
    const known = ["Deployment", "StatefulSet", "Job", "Service", "PodDisruptionBudget"];
    for (const m of manifests) {
      expect(known, `${m.kind} ${nameOf(m)}`).toContain(m.kind);
      expect(m.apiVersion, nameOf(m)).toBeTruthy();
      expect(nameOf(m)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      // Overlays (or `kubectl apply -n`) choose the namespace; short Service names rely on it.
      expect(m.metadata?.namespace, nameOf(m)).toBeUndefined();
    }
    const ids = manifests.map((m) => `${m.kind}/${nameOf(m)}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("selects the pods of exactly one Deployment or StatefulSet with each Service and PodDisruptionBudget", () => {
    expect(services.length).toBeGreaterThan(0);
    for (const s of services)
      expect(selectedBy(s.spec?.selector).map(nameOf), `Service ${nameOf(s)}`).toHaveLength(1);
    expect(budgets.length).toBeGreaterThan(0);
    for (const b of budgets)
      expect(
        selectedBy(b.spec?.selector?.matchLabels).map(nameOf),
        `PodDisruptionBudget ${nameOf(b)}`,
      ).toHaveLength(1);
    // A workload's own selector picks its own template (the API server rejects anything else).
    for (const w of [...deployments, ...statefulSets])
      expect(selects(w.spec?.selector.matchLabels, w), nameOf(w)).toBe(true);
  });

  it("targets a containerPort its workload declares with every Service port", () => {
    for (const s of services) {
      const [workload] = selectedBy(s.spec?.selector);
      const containers = workload ? containersOf(workload) : [];
      const declared = containers.flatMap((c) => c.ports ?? []).map((p) => p.containerPort);
      expect(s.spec?.ports?.length, nameOf(s)).toBeGreaterThan(0);
      for (const p of s.spec?.ports ?? []) {
        const target = resolvePort(containers, p.targetPort ?? p.port);
        expect(target, `${nameOf(s)}:${p.name}`).toBeDefined();
        expect(declared, `${nameOf(s)}:${p.name}`).toContain(target);
      }
    }
  });

  it("carries a cluster config whose broker endpoints are Services with ports of the same name and number", () => {
    expect(config.regions.map((r) => r.name)).toEqual(Object.keys(DEFAULT_REGION_STATES));
    for (const region of config.regions) {
      for (const kind of ENDPOINT_KINDS) {
        const endpoint = parseEndpoint(region.endpoints[kind]);
        const label = `${region.name}.${kind} ${region.endpoints[kind]}`;
        expect(endpoint, label).toBeDefined();
        const service = services.find((s) => nameOf(s) === endpoint?.host);
        expect(service, label).toBeDefined();
        const port = service?.spec?.ports?.find((p) => p.port === endpoint?.port);
        expect(port?.name, label).toBe(kind);
        // …and that Service is the region's broker, not some other pod with that port.
        const [workload] = selectedBy(service?.spec?.selector);
        expect(running("broker", region.name).map(nameOf), label).toEqual(
          workload ? [nameOf(workload)] : [],
        );
      }
    }
  });

  it("describes the same regions, broker endpoints and gateway port as the Docker config, but stores", () => {
    const docker = parseClusterConfig(
      JSON.parse(readFileSync(DOCKER_CONFIG, "utf8")),
      "infra/docker/geomesh.config.json",
    );
    // Limits, heartbeats and rate limits may differ per deployment; the topology may not.
    const topology = (c: ClusterConfig) => ({
      regions: c.regions.map(({ store: _store, ...region }) => region),
      gatewayPort: c.gateway.port,
    });
    expect(topology(config)).toEqual(topology(docker));
  });

  it("stores every region in its own MongoDB StatefulSet pod behind a headless Service", () => {
    const stores = config.regions.map((r) => r.store);
    expect(new Set(stores).size).toBe(stores.length);
    for (const region of config.regions) {
      const uri = new URL(region.store);
      expect(uri.protocol, region.store).toBe("mongodb:");
      // <statefulset>-<ordinal>.<service>: the pod's stable DNS name.
      const m = /^(.+)-(\d+)\.([^.]+)$/.exec(uri.hostname);
      expect(m, region.store).not.toBeNull();
      const [, setName, ordinal, serviceName] = m!;
      const service = services.find((s) => nameOf(s) === serviceName);
      expect(service?.spec?.clusterIP, region.store).toBe("None");
      expect(
        service?.spec?.ports?.map((p) => p.port),
        region.store,
      ).toContain(Number(uri.port));
      const set = statefulSets.find((s) => nameOf(s) === setName);
      expect(set?.spec?.serviceName, region.store).toBe(serviceName);
      expect(Number(ordinal)).toBeLessThan(set?.spec?.replicas ?? 1);
      expect(selectedBy(service?.spec?.selector).map(nameOf)).toEqual([setName]);
      expect(templateOf(set!).metadata?.labels?.[REGION_LABEL], region.store).toBe(region.name);
      expect(containersOf(set!).map((c) => imageName(c.image))).toEqual(["mongo"]);
    }
  });

  it("runs each region's MongoDB as a one-replica StatefulSet with a claim template and mongosh ping probes", () => {
    expect(statefulSets).toHaveLength(config.regions.length);
    const ping = ["mongosh", "--quiet", "--eval", "db.adminCommand('ping')"];
    for (const set of statefulSets) {
      expect(set.spec?.replicas, nameOf(set)).toBe(1);
      const claims = set.spec?.volumeClaimTemplates ?? [];
      expect(claims.length, nameOf(set)).toBeGreaterThan(0);
      const [mongo] = containersOf(set);
      for (const claim of claims)
        expect(mongo?.volumeMounts?.map((v) => v.name)).toContain(claim.metadata?.name);
      expect(mongo?.volumeMounts?.find((v) => v.mountPath === "/data/db")).toBeDefined();
      expect(mongo?.readinessProbe?.exec?.command, nameOf(set)).toEqual(ping);
      expect(mongo?.livenessProbe?.exec?.command, nameOf(set)).toEqual(ping);
    }
  });

  it("runs each region's broker alone: one replica, Recreate, tcpSocket probes on the frontend port", () => {
    for (const region of config.regions) {
      const brokers = running("broker", region.name);
      expect(brokers.map(nameOf), region.name).toHaveLength(1);
      const broker = brokers[0]!;
      expect(broker.spec?.replicas, region.name).toBe(1);
      expect(broker.spec?.strategy?.type, region.name).toBe("Recreate");
      const containers = containersOf(broker);
      const [container] = geomeshContainers(broker);
      const frontend = parseEndpoint(region.endpoints.frontend)?.port;
      const probes: [string, Probe | undefined][] = [
        ["readiness", container?.readinessProbe],
        ["liveness", container?.livenessProbe],
      ];
      for (const [kind, probe] of probes) {
        expect(probe?.tcpSocket, `${region.name} ${kind}`).toBeDefined();
        expect(resolvePort(containers, probe?.tcpSocket?.port), `${region.name} ${kind}`).toBe(
          frontend,
        );
      }
      for (const kind of ENDPOINT_KINDS)
        expect(container?.ports, `${region.name}.${kind}`).toContainEqual(
          expect.objectContaining({
            name: kind,
            containerPort: parseEndpoint(region.endpoints[kind])?.port,
          }),
        );
      // The config names the Service host; the broker must bind every interface instead.
      expect(envOf(container!, "GEOMESH_BIND_HOST")).toBe("0.0.0.0");
    }
    const brokerCount = deployments.filter((d) =>
      geomeshContainers(d).some((c) => c.args?.[0] === "broker"),
    ).length;
    expect(brokerCount).toBe(config.regions.length);
  });

  it("runs the configured number of single-store workers per region once their store answers", () => {
    for (const region of config.regions) {
      const workers = running("worker", region.name);
      expect(workers.map(nameOf), region.name).toHaveLength(1);
      const worker = workers[0]!;
      expect(worker.spec?.replicas, region.name).toBe(region.workers);
      expect(worker.spec?.replicas, region.name).toBeGreaterThanOrEqual(2);
      // The deployment shape: each worker holds only its own region's store.
      const args = geomeshContainers(worker)[0]!.args ?? [];
      expect(args, region.name).toContain("--own-store");
      expect(args, region.name).not.toContain("--store");
      // The init container waits for exactly that store.
      const [wait] = templateOf(worker).spec?.initContainers ?? [];
      expect(imageName(wait?.image)).toBe("mongo");
      expect(wait?.args?.join(" ")).toContain('"$STORE_URI"');
      expect(envOf(wait!, "STORE_URI"), region.name).toBe(region.store);
    }
  });

  it("serves the gateway on the config's port with httpGet /readyz and /healthz probes, a Service and a disruption budget", () => {
    const gateways = deployments.filter((d) =>
      geomeshContainers(d).some((c) => c.args?.[0] === "gateway"),
    );
    expect(gateways.map(nameOf)).toHaveLength(1);
    const gateway = gateways[0]!;
    expect(gateway.spec?.replicas).toBeGreaterThanOrEqual(2);
    const containers = containersOf(gateway);
    const [container] = geomeshContainers(gateway);
    expect(container?.args).toEqual(["gateway"]);
    expect(container?.ports?.map((p) => p.containerPort)).toContain(config.gateway.port);
    expect(container?.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(container?.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(resolvePort(containers, container?.readinessProbe?.httpGet?.port)).toBe(
      config.gateway.port,
    );
    expect(resolvePort(containers, container?.livenessProbe?.httpGet?.port)).toBe(
      config.gateway.port,
    );
    const service = services.find((s) => selectedBy(s.spec?.selector)[0] === gateway);
    expect(service?.spec?.ports?.map((p) => p.port)).toContain(config.gateway.port);
    const budget = budgets.find((b) => selectedBy(b.spec?.selector?.matchLabels)[0] === gateway);
    expect(budget?.spec?.minAvailable).toBeGreaterThanOrEqual(1);
    expect(budget?.spec?.minAvailable).toBeLessThan(gateway.spec?.replicas ?? 0);
  });

  it("loads the bundled cities with a one-shot Job that retries on failure", () => {
    expect(jobs).toHaveLength(1);
    const job = jobs[0]!;
    expect(geomeshContainers(job).map((c) => c.args?.slice(0, 2))).toEqual([["load", "cities"]]);
    expect(job.spec?.backoffLimit).toBeGreaterThan(0);
    expect(["OnFailure", "Never"]).toContain(templateOf(job).spec?.restartPolicy);
  });

  it("mounts the generated config where GEOMESH_CONFIG points in every geomesh container", () => {
    expect(generator, `configMapGenerator ${CONFIG_MAP}`).toBeDefined();
    const withGeomesh = workloads.filter((w) => geomeshContainers(w).length > 0);
    // A broker and a worker Deployment per region, the gateway and the loader.
    expect(withGeomesh.length).toBe(2 * config.regions.length + 2);
    for (const w of withGeomesh) {
      const volumes = templateOf(w).spec?.volumes ?? [];
      const configVolume = volumes.find((v) => v.configMap?.name === CONFIG_MAP);
      expect(configVolume, nameOf(w)).toBeDefined();
      for (const c of allContainersOf(w).filter((c) => envOf(c, "GEOMESH_CONFIG") !== undefined)) {
        const mount = c.volumeMounts?.find((m) => m.name === configVolume?.name);
        const key = configVolume?.configMap?.items?.find((i) => i.key === configKey)?.path;
        expect(envOf(c, "GEOMESH_CONFIG"), `${nameOf(w)}/${c.name}`).toBe(
          `${mount?.mountPath}/${key ?? configKey}`,
        );
      }
      for (const c of geomeshContainers(w)) {
        expect(envOf(c, "GEOMESH_CONFIG"), `${nameOf(w)}/${c.name}`).toBeDefined();
        // `command` would replace the image's ENTRYPOINT (the geomesh CLI); args are its argv.
        expect(c.command, `${nameOf(w)}/${c.name}`).toBeUndefined();
      }
    }
  });

  it("names only commands and flags the geomesh CLI has in container args", async () => {
    const argv = workloads.flatMap((w) => geomeshContainers(w).map((c) => c.args ?? []));
    const commands = [...new Set(argv.map((a) => a[0] ?? ""))].sort();
    expect(commands).toEqual(["broker", "gateway", "load", "worker"]);
    // One `geomesh <command> --help` per command, concurrently (each boots the CLI through tsx).
    const helps = await Promise.all(
      commands.map((command) =>
        run(process.execPath, [GEOMESH_BIN, command, "--help"], { timeout: 150_000 }),
      ),
    );
    commands.forEach((command, i) => {
      const help = helps[i]!;
      expect(help.stdout).toContain(`Usage: geomesh ${command} `);
      const flags = argv
        .filter((a) => a[0] === command)
        .flatMap((a) => a.filter((t) => t.startsWith("--")));
      for (const flag of new Set(flags))
        expect(help.stdout, `geomesh ${command} ${flag}`).toMatch(new RegExp(`\\s${flag}[\\s,]`));
    });
    for (const args of argv.filter((a) => a[1] === "--region"))
      expect(config.regions.map((r) => r.name)).toContain(args[2]);
  }, 180_000);

  it("runs one geomesh image everywhere, overridable through kustomization images", () => {
    const images = workloads.flatMap((w) => geomeshContainers(w).map((c) => c.image));
    expect(new Set(images).size).toBe(1);
    const names = kustomization.images?.map((i) => i.name) ?? [];
    expect(names).toContain(GEOMESH_IMAGE);
    const others = workloads.flatMap((w) =>
      allContainersOf(w)
        .filter((c) => !isGeomesh(c))
        .map((c) => imageName(c.image)),
    );
    for (const image of new Set(others)) expect(names, image).toContain(image);
  });

  it("runs every container as a non-root numeric user with CPU and memory requests and a memory limit", () => {
    for (const w of workloads) {
      const pod = templateOf(w).spec;
      expect(pod?.securityContext?.runAsNonRoot, nameOf(w)).toBe(true);
      // The image's USER is the name `node`: kubelet can only verify non-root from a uid.
      if (geomeshContainers(w).length > 0) expect(pod?.securityContext?.runAsUser).toBe(1000);
      for (const c of allContainersOf(w)) {
        const label = `${nameOf(w)}/${c.name}`;
        const uid = c.securityContext?.runAsUser ?? pod?.securityContext?.runAsUser;
        expect(uid, label).toBeGreaterThan(0);
        expect(c.securityContext?.allowPrivilegeEscalation, label).toBe(false);
        expect(c.resources?.requests?.cpu, label).toBeDefined();
        expect(c.resources?.requests?.memory, label).toBeDefined();
        expect(c.resources?.limits?.memory, label).toBeDefined();
        if (c.securityContext?.readOnlyRootFilesystem)
          expect(
            c.volumeMounts?.map((m) => m.mountPath),
            label,
          ).toContain("/tmp");
      }
    }
  });

  it("keeps the five regions' manifests identical but for region name and ports", () => {
    const token = (t: string) => new RegExp(`(?<![A-Za-z0-9])${t}(?![A-Za-z0-9])`, "g");
    /** The region's objects with its name, slug and port numbers replaced by placeholders. */
    const normalised = (region: RegionConfig) => {
      const ports = new Map(
        ENDPOINT_KINDS.map((kind) => [parseEndpoint(region.endpoints[kind])?.port, `<${kind}>`]),
      );
      const walk = (value: unknown): unknown => {
        if (typeof value === "number") return ports.get(value) ?? value;
        if (typeof value === "string")
          return value
            .replace(token(region.name), "<REGION>")
            .replace(token(region.name.toLowerCase()), "<region>")
            .replace(/\d+/g, (digits) => ports.get(Number(digits)) ?? digits);
        if (Array.isArray(value)) return value.map(walk);
        if (value && typeof value === "object")
          return Object.fromEntries(
            Object.entries(value).map(([k, v]) => [walk(k) as string, walk(v)]),
          );
        return value;
      };
      return regionObjects(region).map(({ file, object }) => ({ file, object: walk(object) }));
    };
    const [first, ...rest] = config.regions;
    const model = normalised(first!);
    // Per region: MongoDB Service + StatefulSet, broker Service + Deployment, worker Deployment.
    expect(model.map((o) => (o.object as Manifest).kind).sort()).toEqual([
      "Deployment",
      "Deployment",
      "Service",
      "Service",
      "StatefulSet",
    ]);
    for (const region of rest) expect(normalised(region), region.name).toEqual(model);
  });

  const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;

  it.skipIf(!kubectl)(
    "renders with kubectl kustomize, every pod mounting the hash-named config and carrying the common labels",
    () => {
      const out = spawnSync("kubectl", ["kustomize", BASE], { encoding: "utf8", timeout: 60_000 });
      expect(out.status, out.stderr).toBe(0);
      const rendered = parseAllDocuments(out.stdout).map((d) => d.toJS() as Manifest | ConfigMap);
      const configMaps = rendered.filter((m): m is ConfigMap => m.kind === "ConfigMap");
      expect(configMaps).toHaveLength(1);
      const hashed = configMaps[0]!.metadata?.name ?? "";
      expect(hashed).toMatch(new RegExp(`^${CONFIG_MAP}-[a-z0-9]+$`));
      const embedded: unknown = JSON.parse(configMaps[0]!.data?.[configKey] ?? "null");
      expect(parseClusterConfig(embedded)).toEqual(config);

      const objects = rendered.filter((m): m is Manifest => m.kind !== "ConfigMap");
      const ids = (list: Manifest[]) => list.map((m) => `${m.kind}/${nameOf(m)}`).sort();
      expect(ids(objects)).toEqual(ids(manifests));
      const common: Record<string, string> = Object.assign(
        {},
        ...(kustomization.labels ?? []).map((l) => l.pairs),
      );
      expect(Object.keys(common).length).toBeGreaterThan(0);
      for (const m of rendered)
        expect(m.metadata?.labels, `${m.kind}/${m.metadata?.name}`).toMatchObject(common);

      const configRefs = (w: Workload) =>
        (templateOf(w).spec?.volumes ?? []).flatMap((v) => (v.configMap ? [v.configMap.name] : []));
      for (const w of objects.filter(
        (m): m is Workload =>
          m.kind === "Deployment" || m.kind === "StatefulSet" || m.kind === "Job",
      )) {
        const original = workloads.find((o) => o.kind === w.kind && nameOf(o) === nameOf(w))!;
        expect(templateOf(w).metadata?.labels, nameOf(w)).toMatchObject(common);
        // Selectors are immutable once applied: the common labels must not reach them.
        expect(w.spec?.selector, nameOf(w)).toEqual(original.spec?.selector);
        expect(configRefs(w), nameOf(w)).toEqual(configRefs(original).map(() => hashed));
      }
    },
  );
});
