/**
 * The cluster oracle suite in the deployment shape: every worker holds only its own region's
 * store (`geomesh worker --store`), so cross-region queries reach other regions only through the
 * brokers. Border-heavy queries over HTTP equal a brute-force global index; with a broker killed,
 * its region is unavailable and the answers equal the global index without it, marked partial.
 */
import { clusterOracleSuite } from "./helpers/cluster-oracle-suite.js";

clusterOracleSuite("the gateway process over five broker processes, one store per worker", {
  singleStore: true,
});
