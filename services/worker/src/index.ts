export { WorkerService, type WorkerServiceOptions } from "./worker-service.js";
export { buildServices, type ServiceSetOptions } from "./services/index.js";
export { parseSleepBody, MAX_SLEEP_MS } from "./services/sys-sleep.js";
export {
  buildGeoServices,
  type GeoServices,
  type RemoteLeafCaller,
  jsonBody,
  jsonHandler,
  leafService,
  type GeoServiceOptions,
} from "./services/geo.js";
