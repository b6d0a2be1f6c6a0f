export { GeomeshClient, type GeomeshClientOptions, type CallOptions } from "./geomesh-client.js";
export { GeomeshError, errorFromWire, isGeomeshError, type ErrorCode } from "@geomesh/errors";
