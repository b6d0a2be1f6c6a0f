export * from "./codec.js";
export { EMPTY, Flag, GMPC01, GMPW01, Limits, MDPC01, MDPW01, MdpCommand, Verb } from "./frames.js";
export {
  DEFAULT_HEARTBEAT,
  DEFAULT_NON_IDEMPOTENT_SERVICES,
  isIdempotentService,
  type HeartbeatOptions,
} from "./heartbeat.js";
export {
  BROKER_OUTBOX_PREFIX,
  MAX_PUBLISH_EVENTS,
  BROKER_PUBLISH_PREFIX,
  BROKER_STATUS_SERVICE,
  EVENT_HOLD_MS,
  Broker,
  type BrokerCounters,
  type BrokerOptions,
  type BrokerStatus,
} from "./broker.js";
export {
  Worker,
  type Handler,
  type HandlerResult,
  type ReconnectOptions,
  type ReplyBody,
  type WorkerCounters,
  type WorkerOptions,
  type WorkerRequest,
} from "./worker.js";
export { Client, type ClientOptions, type Reply, type RequestOptions } from "./client.js";
export { ServiceQueue } from "./service-queue.js";
export {
  DEFAULT_HWM,
  DEFAULT_MAX_MESSAGE_BYTES,
  bindSocket,
  createDealer,
  createRouter,
  sendNow,
  type CurveOptions,
  type SocketLimits,
} from "./sockets.js";
export {
  CURVE_ENV,
  curveClientOptions,
  curveServerOptions,
  derivePublicKey,
  generateKeyPair,
  keyPairFromEnv,
  keyPairPaths,
  readKeyPair,
  readPublicKey,
  readPublicKeys,
  serverKeyFromEnv,
  writeKeyPair,
  type CurveKeyPair,
  type KeyPairFiles,
  type PublicKeyEntry,
  type WriteKeyPairOptions,
} from "./security.js";
export {
  DEFAULT_ZAP_DOMAIN,
  ZAP_ENDPOINT,
  ZapAuthenticator,
  type ZapAuthenticatorOptions,
  type ZapCounters,
  type ZapDecision,
  type ZapRequest,
} from "./zap-authenticator.js";
export { isZ85Key, z85Decode, z85Encode } from "./z85.js";
