/**
 * The cluster oracle suite on MongoDB: the same five brokers, workers and gateway, with each
 * region's store a MongoDB collection (one database per run). The server comes from
 * `MONGODB_URI`, else a testcontainers MongoDB when a container runtime answers; otherwise the
 * suite is reported as skipped with the reason, and `REQUIRE_INTEGRATION=1` makes that a failure.
 */
import { describeWithMongo, detectMongo } from "@geomesh/store-mongo/testing";
import { clusterOracleSuite } from "./helpers/cluster-oracle-suite.js";

/** The connection string with `database` as its path (keeps options such as directConnection). */
function withDatabase(uri: string, database: string): string {
  // Not `new URL`: a replica-set string lists several hosts, which URL refuses.
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?#]*)(?:\/[^?#]*)?(.*)$/i.exec(uri);
  if (!m) throw new Error("MONGODB_URI is not a mongodb:// connection string");
  return `${m[1]}/${database}${m[2]}`;
}

const mongo = await detectMongo();

describeWithMongo(
  "the gateway process over five broker processes on MongoDB stores",
  mongo,
  (ctx) => {
    clusterOracleSuite("cluster oracle", {
      stores: () => () => withDatabase(ctx.uri(), ctx.database),
    });
  },
);
