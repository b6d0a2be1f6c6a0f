/**
 * DESIGN §4 cross-region correctness through the real cluster on embedded stores: five
 * `geomesh broker` processes, a worker per region, a `geomesh gateway`; border-heavy queries over
 * HTTP equal a brute-force global index, also after a broker is killed (see the suite).
 */
import { clusterOracleSuite } from "./helpers/cluster-oracle-suite.js";

clusterOracleSuite("the gateway process over five broker processes (embedded stores)");
