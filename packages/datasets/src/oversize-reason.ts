function mebibytes(bytes: number): string {
  return `${(bytes / 1048576).toFixed(bytes < 1048576 ? 3 : 1)} MiB`;
}

/** The reason given for a row over the size cap, e.g. "the line is 10.0 MiB, over the 1.0 MiB limit per row". */
export function oversizeReason(what: string, size: number, max: number): string {
  return `${what} is ${mebibytes(size)}, over the ${mebibytes(max)} limit per row`;
}
