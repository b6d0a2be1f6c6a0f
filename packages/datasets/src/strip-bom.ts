const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Passes a byte stream through as Buffers, minus a UTF-8 byte order mark at its start (even one split across chunks). */
export async function* stripBom(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const raw of source) {
    const chunk = Buffer.isBuffer(raw)
      ? raw
      : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (head === undefined) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) continue; // could still be a BOM
    const rest: Buffer = head.subarray(0, BOM.length).equals(BOM)
      ? head.subarray(BOM.length)
      : head;
    head = undefined;
    if (rest.length > 0) yield rest;
  }
  if (head !== undefined && head.length > 0) yield head;
}
