// Box and polygon drawing, hand-written on Leaflet's map events rather than a plugin: the page
// needs two shapes, drawn once and sent as a query, never edited. leaflet-draw is unmaintained
// (last release 2018) and leaflet-geoman brings ~10x this page's code for editing, snapping and
// i18n it would not use; both add a global script on top of Leaflet's ES module.
import * as L from "../leaflet/leaflet-src.esm.js";

/** Pixels within which a click counts as "on" a vertex (closing the ring, or a double click). */
const SNAP_PX = 8;

const SHAPE_STYLE = {
  color: "#2f6fdf",
  weight: 2,
  dashArray: "6 4",
  fillOpacity: 0.08,
  interactive: false,
  className: "gm-shape",
};

/**
 * Turns map gestures into queries: in "near" mode a click is a point; in "box" mode a drag is a
 * box; in "polygon" mode clicks add corners and a double click, Enter or a click on the first
 * corner closes the ring (Escape cancels). The finished shape stays on `layer` until the next.
 */
export class DrawTool {
  #map;
  #layer;
  #handlers;
  #mode = "near";
  #box = null; // { start: LatLng, rect: Rectangle } while dragging
  #vertices = []; // LatLng[] while drawing a polygon
  #outline = null; // Polyline of the polygon so far, plus the edge to the mouse

  /**
   * @param {L.Map} map
   * @param {L.LayerGroup} layer where drawn shapes are shown
   * @param {{ point(latlng): void, box(box): void, polygon(geometry): void }} handlers
   */
  constructor(map, layer, handlers) {
    this.#map = map;
    this.#layer = layer;
    this.#handlers = handlers;
    map.on("click", (e) => this.#click(e));
    map.on("dblclick", () => this.#mode === "polygon" && this.#finishPolygon());
    map.on("mousedown", (e) => this.#boxStart(e));
    map.on("mousemove", (e) => this.#move(e));
    document.addEventListener("mouseup", (e) => this.#boxEnd(e));
    document.addEventListener("keydown", (e) => {
      if (this.#mode !== "polygon" || e.target instanceof HTMLInputElement) return;
      if (e.key === "Escape") this.#resetPolygon();
      if (e.key === "Enter") this.#finishPolygon();
    });
  }

  get mode() {
    return this.#mode;
  }

  /** "near" | "box" | "polygon": what the next gesture on the map means. */
  setMode(mode) {
    this.#resetPolygon();
    this.#mode = mode;
    const map = this.#map;
    // Dragging pans the map only in "near" mode; a double click closes a polygon, not zooms.
    if (mode === "box") map.dragging.disable();
    else map.dragging.enable();
    if (mode === "polygon") map.doubleClickZoom.disable();
    else map.doubleClickZoom.enable();
    const el = map.getContainer();
    el.classList.toggle("gm-mode-box", mode === "box");
    el.classList.toggle("gm-mode-polygon", mode === "polygon");
  }

  #click(e) {
    if (this.#mode === "near") {
      this.#handlers.point(e.latlng.wrap());
      return;
    }
    if (this.#mode !== "polygon") return;
    const pt = this.#map.latLngToContainerPoint(e.latlng);
    const near = (ll) => this.#map.latLngToContainerPoint(ll).distanceTo(pt) <= SNAP_PX;
    const first = this.#vertices[0];
    const last = this.#vertices[this.#vertices.length - 1];
    if (first && this.#vertices.length >= 3 && near(first)) return this.#finishPolygon();
    if (last && near(last)) return; // the second click of a double click
    this.#vertices.push(e.latlng);
    this.#drawOutline(e.latlng);
  }

  #move(e) {
    if (this.#box) this.#box.rect.setBounds(L.latLngBounds(this.#box.start, e.latlng));
    else if (this.#vertices.length) this.#drawOutline(e.latlng);
  }

  #boxStart(e) {
    if (this.#mode !== "box" || e.originalEvent.button !== 0) return;
    // Leaflet hands the map the mousedowns no layer listens for, a marker's among them.
    if (e.originalEvent.target.closest?.(".leaflet-marker-icon")) return;
    L.DomUtil.disableTextSelection(); // a drag here draws, it must not select the page's text
    this.#layer.clearLayers();
    const rect = L.rectangle(L.latLngBounds(e.latlng, e.latlng), SHAPE_STYLE).addTo(this.#layer);
    this.#box = { start: e.latlng, rect };
  }

  #boxEnd(e) {
    if (!this.#box) return;
    const { start, rect } = this.#box;
    this.#box = null;
    L.DomUtil.enableTextSelection();
    const end = this.#map.mouseEventToLatLng(e);
    rect.setBounds(L.latLngBounds(start, end));
    const a = this.#map.latLngToContainerPoint(start);
    const b = this.#map.latLngToContainerPoint(end);
    if (Math.abs(a.x - b.x) < 4 || Math.abs(a.y - b.y) < 4) {
      this.#layer.removeLayer(rect); // a click, not a box
      return;
    }
    this.#handlers.box(toBox(L.latLngBounds(start, end)));
  }

  #drawOutline(mouse) {
    const path = [...this.#vertices, mouse];
    if (this.#outline) this.#outline.setLatLngs(path);
    else {
      this.#layer.clearLayers();
      this.#outline = L.polyline(path, SHAPE_STYLE).addTo(this.#layer);
    }
  }

  #finishPolygon() {
    const vertices = this.#vertices;
    this.#resetPolygon();
    if (vertices.length < 3) return;
    L.polygon(vertices, SHAPE_STYLE).addTo(this.#layer);
    this.#handlers.polygon(toPolygon(vertices));
  }

  #resetPolygon() {
    if (this.#outline) this.#layer.removeLayer(this.#outline);
    this.#outline = null;
    this.#vertices = [];
  }
}

const clampLat = (lat) => Math.max(-90, Math.min(90, lat));
const round = (x) => Math.round(x * 1e6) / 1e6;
/** A longitude in [-180, 180]. */
const wrapLng = (lng) => round(((((lng + 180) % 360) + 360) % 360) - 180);

/**
 * A Leaflet bounds as the API's `[[west, south], [east, north]]` box. Longitudes are wrapped to
 * [-180, 180], so a box over the antimeridian comes out with west > east, as the API expects.
 */
export function toBox(bounds) {
  const w = bounds.getWest();
  const e = bounds.getEast();
  const s = round(clampLat(bounds.getSouth()));
  const n = round(clampLat(bounds.getNorth()));
  if (e - w >= 360)
    return [
      [-180, s],
      [180, n],
    ];
  return [
    [wrapLng(w), s],
    [wrapLng(e), n],
  ];
}

/** Corners as a closed GeoJSON Polygon, shifted by whole turns so its middle is in [-180, 180]. */
function toPolygon(vertices) {
  const mid = vertices.reduce((sum, v) => sum + v.lng, 0) / vertices.length;
  const shift = Math.round(mid / 360) * 360;
  const ring = vertices.map((v) => [round(v.lng - shift), round(clampLat(v.lat))]);
  ring.push(ring[0]);
  return { type: "Polygon", coordinates: [ring] };
}
