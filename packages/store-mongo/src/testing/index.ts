export {
  DEFAULT_MONGODB_IMAGE,
  describeWithMongo,
  detectMongo,
  randomDatabaseName,
  startMongoTestServer,
  type MongoAvailability,
  type MongoTestContext,
  type MongoTestServer,
} from "./mongo-test-server.js";
