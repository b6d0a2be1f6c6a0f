import { type Server, createServer } from "node:net";

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

/** A base port such that `count` consecutive loopback ports are free right now (for the default layout). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 25_000);
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
