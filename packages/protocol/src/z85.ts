/**
 * Z85 (ZeroMQ RFC 32), the text form of CURVE keys. zeromq.js hands out keys as Z85 strings but
 * exports no codec, and ZAP delivers a client's key as 32 raw bytes, so we need both directions.
 */
const ALPHABET =
  "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Encodes bytes (length a multiple of 4) as Z85. */
export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0) throw new RangeError("z85Encode: length must be a multiple of 4");
  let out = "";
  for (let i = 0; i < data.length; i += 4) {
    let value =
      ((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!) >>> 0;
    let chunk = "";
    for (let j = 0; j < 5; j++) {
      chunk = ALPHABET[value % 85]! + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}

/** Decodes Z85 text (length a multiple of 5); undefined when it is not valid Z85. */
export function z85Decode(text: string): Buffer | undefined {
  if (text.length % 5 !== 0) return undefined;
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const code = text.charCodeAt(i + j);
      const digit = code < 128 ? DECODE[code]! : -1;
      if (digit < 0) return undefined;
      value = value * 85 + digit;
    }
    // Five digits can express more than 32 bits ("%%%%%"); such text is not Z85.
    if (value > 0xffffffff) return undefined;
    out.writeUInt32BE(value, o);
  }
  return out;
}

/** True for a 40-character Z85 string that decodes to a 32-byte CURVE key. */
export function isZ85Key(text: unknown): boolean {
  return typeof text === "string" && text.length === 40 && z85Decode(text) !== undefined;
}
