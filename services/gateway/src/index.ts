export { buildApp, BODY_LIMIT, type AppOptions } from "./app.js";
export { GatewayService, type GatewayServiceOptions } from "./gateway-service.js";
export { GatewayMetrics } from "./gateway-metrics.js";
export type { ClusterView, RegionStatus } from "./cluster-view.js";
export { STREAM_MAX_FEATURES } from "./plugins/ndjson.js";
