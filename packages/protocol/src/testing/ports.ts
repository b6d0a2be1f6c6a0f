import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Listens on a loopback port (0 = the OS picks one); resolves undefined when it is taken. */
function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

const portOf = (server: Server): number => {
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
};

const close = (servers: readonly Server[]) =>
  Promise.all(servers.map((s) => new Promise((r) => s.close(r))));

/**
 * `n` distinct loopback ports that were free a moment ago: every listener stays open until all
 * are chosen, so the OS never hands out the same port twice.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  for (let i = 0; i < n; i++) {
    const server = await listen(0);
    if (!server) throw new Error("cannot listen on a loopback port");
    servers.push(server);
  }
  const ports = servers.map(portOf);
  await close(servers);
  return ports;
}

/** One loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** `tcp://127.0.0.1:<free port>`. */
export async function freeEndpoint(): Promise<string> {
  return `tcp://127.0.0.1:${await freePort()}`;
}

/**
 * The first port the kernel hands out for outgoing connections and port-0 listeners (Linux's
 * `ip_local_port_range`; 32768 elsewhere). A fixed range drawn above it could be taken at any
 * moment by another test's client socket, so ranges come from below it.
 */
function ephemeralLow(): number {
  try {
    const low = Number(
      readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/)[0],
    );
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const RESERVATIONS = join(tmpdir(), "geomesh-test-ports");
const RESERVATION_TTL_MS = 30 * 60_000;
/** Ranges are handed out in aligned blocks of this many ports, so two ranges never overlap. */
const BLOCK = 64;

/**
 * Claims the block starting at `base` for this test run across processes (parallel vitest workers
 * pick ranges independently): an exclusive-create file per block, ignored once it is stale.
 */
function reserve(base: number): boolean {
  mkdirSync(RESERVATIONS, { recursive: true });
  const file = join(RESERVATIONS, String(base));
  try {
    if (Date.now() - statSync(file).mtimeMs > RESERVATION_TTL_MS) rmSync(file, { force: true });
  } catch {
    // no reservation yet
  }
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
    return true;
  } catch {
    return false;
  }
}

/**
 * A base port such that `count` consecutive loopback ports are free right now (for the default
 * layout), below the ephemeral range and reserved against other test processes.
 */
export async function freePortRange(count: number): Promise<number> {
  if (!Number.isInteger(count) || count < 1 || count > BLOCK) {
    throw new RangeError(`freePortRange: count must be 1..${BLOCK}, got ${count}`);
  }
  const low = 10_000;
  const blocks = Math.floor((ephemeralLow() - low) / BLOCK);
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = low + Math.floor(Math.random() * blocks) * BLOCK;
    if (!reserve(base)) continue;
    const servers: Server[] = [];
    let ok = true;
    for (let p = base; p < base + count && ok; p++) {
      const server = await listen(p);
      if (server) servers.push(server);
      else ok = false;
    }
    await close(servers);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
