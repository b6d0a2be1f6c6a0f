export { ErrorCode, Status, errorTable, isErrorCode, type ErrorSpec } from "./codes.js";
export {
  GeomeshError,
  errorFromWire,
  isGeomeshError,
  toGeomeshError,
  type ErrorOptions,
  type WireError,
} from "./geomesh-error.js";
export { renderErrorsDoc } from "./errors-doc.js";
