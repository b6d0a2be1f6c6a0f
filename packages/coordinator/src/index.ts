export {
  Coordinator,
  type LeafCaller,
  isRegionUnavailable,
  regionUnavailable,
} from "./coordinator.js";
export { executeLeaf } from "./leaf.js";
export {
  CHANGES_SINCE_MAX,
  CHANGES_SINCE_SERVICE,
  type ChangesSinceBody,
  type ChangesSinceReply,
  changesSince,
  parseChangesSinceBody,
} from "./outbox.js";
export type { ChangeMove } from "@geomesh/store";
export {
  type CompactHit,
  type CompactPage,
  featureCollectionToPage,
  featureToHit,
  pageToFeatureCollection,
  pageToHits,
  readLeafPage,
  placeToFeature,
  type PlaceFeature,
  type PlaceFeatureCollection,
  type RegionHit,
  type RegionPage,
} from "./features.js";
export { type PlaceEvent, placeEventOf } from "./place-event.js";
