import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A scratch directory of real files for tests; `remove()` deletes it. */
export interface TempFiles {
  readonly dir: string;
  /** Writes `content` to `name` inside the directory and returns the full path. */
  write(name: string, content: string | Uint8Array): Promise<string>;
  /** A read stream over a file, optionally in tiny chunks to exercise chunk boundaries. */
  stream(path: string, chunkBytes?: number): AsyncIterable<Uint8Array>;
  remove(): Promise<void>;
}

/** Creates a fresh scratch directory under the OS temp dir. */
export async function tempFiles(): Promise<TempFiles> {
  const dir = await mkdtemp(join(tmpdir(), "geomesh-datasets-"));
  return {
    dir,
    async write(name, content) {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    },
    stream(path, chunkBytes = 64 * 1024) {
      return createReadStream(path, { highWaterMark: chunkBytes });
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Drains an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
