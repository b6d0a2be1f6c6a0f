export { BrokerService, bindAddress, type BrokerServiceOptions } from "./broker-service.js";
