export {
  DEFAULT_BASE_PORT,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_REGION_STATES,
  defaultWorkersPerRegion,
} from "./defaults.js";
export {
  clusterSchema,
  regionSchema,
  type ClusterConfig,
  type ClusterConfigInput,
  type RegionConfig,
  type RegionEndpoints,
} from "./schema.js";
export {
  defaultClusterConfig,
  defaultClusterInput,
  findRegion,
  formatIssues,
  loadClusterConfig,
  parseClusterConfig,
  type DefaultConfigOptions,
  type LoadConfigOptions,
} from "./load.js";
