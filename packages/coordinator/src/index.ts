export {
  Coordinator,
  type LeafCaller,
  isRegionUnavailable,
  regionUnavailable,
} from "./coordinator.js";
export { type ChangeMove, executeLeaf } from "./leaf.js";
export {
  featureCollectionToPage,
  featureToHit,
  pageToFeatureCollection,
  placeToFeature,
  type PlaceFeature,
  type PlaceFeatureCollection,
  type RegionHit,
  type RegionPage,
} from "./features.js";
export { type PlaceEvent, placeEventOf } from "./place-event.js";
