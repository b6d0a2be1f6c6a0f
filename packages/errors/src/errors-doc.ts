import { type ErrorCode, errorTable } from "./codes.js";

/** The code table of `docs/errors.md`, generated from `errorTable` (the test compares them). */
export function renderErrorsDoc(): string {
  const rows = (Object.keys(errorTable) as ErrorCode[]).map((code) => {
    const spec = errorTable[code];
    return `| \`${code}\` | ${spec.status} | ${spec.retryable ? "yes" : "no"} | ${spec.description} |`;
  });
  return ["| code | status | retryable | meaning |", "| --- | --- | --- | --- |", ...rows].join(
    "\n",
  );
}
