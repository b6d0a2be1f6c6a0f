export { buildApp, BODY_LIMIT, type AppOptions } from "./app.js";
export { GatewayService, type GatewayServiceOptions } from "./gateway-service.js";
export type { ClusterView } from "./routes/cluster.js";
