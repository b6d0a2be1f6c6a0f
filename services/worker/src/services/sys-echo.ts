import type { Handler } from "@geomesh/protocol";

/** `sys.echo`: replies with the request body unchanged (every frame). */
export const sysEcho: Handler = (req) => req.body;
