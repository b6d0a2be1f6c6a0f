// The gateway's map page: region polygons coloured by live load, near/within queries drawn on
// the map, the cluster at a glance and the live feed. Plain ES modules; every request goes to
// the gateway that served the page (no tiles, no CDN), so it works offline.
import * as L from "../leaflet/leaflet-src.esm.js";
import { DrawTool, toBox } from "./draw.js";
import { LiveFeed } from "./live.js";
import { labelPoint, loadText, pieces, regionColour } from "./regions.js";

const CLUSTER_REFRESH_MS = 3000;
const MAX_EVENTS = 50;
const MAX_LIVE_MARKERS = 500;
const CONTIGUOUS_US = L.latLngBounds([24.5, -124.8], [49.4, -66.9]);
const HINTS = {
  near: "Click the map: the places nearest that point.",
  box: "Drag a box on the map: the places inside it.",
  polygon:
    "Click the corners; double-click, Enter or click the first corner to finish. Esc cancels.",
};

const $ = (id) => document.getElementById(id);

/** A DOM element with text and attributes; never HTML from data. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** GET/POST JSON from the gateway; a non-2xx answer throws the API's error message. */
async function api(path, body) {
  const init =
    body === undefined
      ? {}
      : {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        };
  const res = await fetch(path, init);
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(data?.error?.message ?? `HTTP ${res.status}`);
  return data;
}

// ---- map -------------------------------------------------------------------------------------

const map = L.map("map", { zoomSnap: 0.25, minZoom: 2, maxZoom: 17 });
map.attributionControl.addAttribution("Regions: geomesh · outlines: US Census Bureau (us-atlas)");
L.control.scale({ imperial: false }).addTo(map);

/** The view in the URL (`#zoom/lat/lng`), so a view can be shared or reloaded. */
function viewFromHash() {
  const m = /^#(\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(location.hash);
  return m ? { zoom: Number(m[1]), center: L.latLng(Number(m[2]), Number(m[3])) } : null;
}
const initial = viewFromHash();
if (initial) map.setView(initial.center, initial.zoom);
else map.fitBounds(CONTIGUOUS_US);
map.on("moveend", () => {
  const c = map.getCenter();
  history.replaceState(null, "", `#${map.getZoom()}/${c.lat.toFixed(4)}/${c.lng.toFixed(4)}`);
});

// ---- regions and cluster ---------------------------------------------------------------------

const regionLayers = new Map(); // region name → polygon layer
const regionPieces = new Map(); // region name → its polygons' outer rings (see pieces())
const regionLabels = L.layerGroup().addTo(map);
let regionNames = [];
let clusterStatus = {};

const regionStyle = (s) => ({
  color: "#ffffff",
  weight: 1.5,
  fillColor: regionColour(s),
  fillOpacity: s?.reachable ? 0.6 : 0.45,
});

function regionSummary(name) {
  const s = clusterStatus[name];
  if (!s) return `${name}: no status`;
  if (!s.reachable) return `${name}: broker unreachable`;
  return `${name}: ${s.workers ?? 0} workers · load ${loadText(s)} · ${s.queued ?? 0} queued`;
}

/** Each region's name and load on its largest piece that is mostly in view (none: no label). */
function drawLabels() {
  regionLabels.clearLayers();
  const view = map.getBounds();
  for (const [name, all] of regionPieces) {
    const best = all
      .filter((p) => view.contains(p.bounds.getCenter()))
      .sort((a, b) => b.area - a.area)[0];
    if (!best) continue;
    const s = clusterStatus[name];
    const load = !s ? "" : !s.reachable ? "down" : `load ${loadText(s)}`;
    const label = el("div", {}, el("strong", {}, name), load ? el("div", {}, load) : null);
    L.tooltip({ permanent: true, direction: "center", className: "gm-region-label" })
      .setLatLng(labelPoint(best))
      .setContent(label)
      .addTo(regionLabels);
  }
}

async function loadRegions() {
  const fc = await api("v1/regions");
  regionNames = fc.features.map((f) => f.properties.name);
  L.geoJSON(fc, {
    style: (f) => ({ ...regionStyle(f.properties.status), className: "gm-region" }),
    onEachFeature: (f, layer) => {
      regionLayers.set(f.properties.name, layer);
      regionPieces.set(f.properties.name, pieces(f.geometry));
      layer.bindTooltip(() => regionSummary(f.properties.name), { sticky: true });
      layer.on("add", () => layer.getElement()?.setAttribute("data-region", f.properties.name));
    },
  }).addTo(map);
  map.on("moveend", drawLabels);
}

function dot(colour) {
  const node = el("span", { class: "dot" });
  node.style.background = colour; // through the DOM: the page's CSP has no inline styles
  return node;
}

function cell(value) {
  return el("td", {}, value === undefined || value === null ? "–" : String(value));
}

function renderCluster() {
  const body = $("cluster-table").tBodies[0];
  body.replaceChildren(
    ...regionNames.map((name) => {
      const s = clusterStatus[name];
      const peers = s?.peers;
      const broker = !s ? "–" : s.reachable ? "up" : "down";
      return el(
        "tr",
        { "data-region": name, title: regionSummary(name) },
        el("td", {}, dot(regionColour(s)), name),
        el("td", { class: s ? (s.reachable ? "up" : "down") : "" }, broker),
        cell(s?.workers),
        cell(s?.freeCapacity),
        cell(s?.queued),
        cell(s?.pending),
        cell(peers ? `${peers.filter((p) => p.alive).length}/${peers.length}` : undefined),
      );
    }),
  );
  const known = regionNames.map((n) => clusterStatus[n]).filter(Boolean);
  const up = known.filter((s) => s.reachable);
  const sum = (k) => up.reduce((total, s) => total + (s[k] ?? 0), 0);
  $("cluster-summary").textContent =
    `${up.length}/${regionNames.length} brokers up · ${sum("workers")} workers · ` +
    `${sum("freeCapacity")} free · ${sum("queued")} queued`;
}

function setGateway(ok, text) {
  const badge = $("gateway-state");
  badge.className = `badge ${ok ? "ok" : "bad"}`;
  badge.textContent = text;
}

/** Polls the cluster's status; loads the regions first (again, if the gateway was down). */
async function refreshCluster() {
  try {
    if (regionLayers.size === 0) await loadRegions();
    const { regions } = await api("v1/cluster");
    clusterStatus = regions;
    setGateway(true, "gateway up");
    $("cluster-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch {
    clusterStatus = {};
    setGateway(false, "gateway unreachable");
  }
  for (const [name, layer] of regionLayers) layer.setStyle(regionStyle(clusterStatus[name]));
  renderCluster();
  drawLabels();
  setTimeout(() => void refreshCluster(), CLUSTER_REFRESH_MS);
}

// ---- queries and results ---------------------------------------------------------------------

const shapeLayer = L.featureGroup().addTo(map);
const resultLayer = L.featureGroup().addTo(map);
const liveLayer = L.featureGroup().addTo(map);
const resultMarkers = new Map(); // place id → marker
const liveMarkers = new Map(); // place id → marker
let querySeq = 0;

const limit = () => Math.max(1, Math.min(1000, Number($("limit").value) || 25));
const fmt = (x) => x.toFixed(4);

function distanceText(m) {
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(m < 10_000 ? 2 : 1)} km`;
}

function popupFor(feature) {
  const p = feature.properties ?? {};
  const [lng, lat] = feature.geometry.coordinates;
  return el(
    "div",
    { class: "gm-popup" },
    el("strong", {}, p.name ?? String(feature.id)),
    el("div", { class: "meta" }, [p.category, p.region].filter(Boolean).join(" · ")),
    typeof p.distance === "number" ? el("div", {}, `${distanceText(p.distance)} away`) : null,
    el("div", {}, el("code", {}, String(feature.id))),
    el("div", { class: "meta" }, `${fmt(lng)}, ${fmt(lat)}`),
  );
}

function placeMarker(feature, kind) {
  const [lng, lat] = feature.geometry.coordinates;
  const marker = L.marker([lat, lng], {
    icon: L.divIcon({ className: `gm-marker gm-${kind}`, iconSize: [14, 14] }),
    title: feature.properties?.name ?? String(feature.id),
    riseOnHover: true,
  });
  marker.feature = feature;
  marker.bindPopup(() => popupFor(marker.feature));
  return marker;
}

function setStatus(text, kind = "") {
  const status = $("query-status");
  status.textContent = text;
  status.className = `status ${kind}`;
}

function showResults(fc) {
  resultLayer.clearLayers();
  resultMarkers.clear();
  const items = [];
  for (const f of fc.features) {
    if (f.geometry?.type !== "Point") continue;
    const marker = placeMarker(f, "result").addTo(resultLayer);
    resultMarkers.set(f.id, marker);
    const p = f.properties ?? {};
    const meta = [
      p.category,
      p.region,
      typeof p.distance === "number" ? distanceText(p.distance) : "",
    ];
    const li = el(
      "li",
      { "data-id": String(f.id) },
      el("span", { class: "name" }, p.name ?? String(f.id)),
      " ",
      el("span", { class: "meta" }, meta.filter(Boolean).join(" · ")),
    );
    li.addEventListener("click", () => marker.openPopup());
    items.push(li);
  }
  $("results").replaceChildren(...items);
}

/** Runs one query; a slower earlier answer never replaces a later one. */
async function runQuery(label, request, { fit = false } = {}) {
  const seq = ++querySeq;
  setStatus(`searching ${label}…`);
  try {
    const fc = await request();
    if (seq !== querySeq) return;
    showResults(fc);
    const n = fc.features.length;
    const more = fc.next ? " (more: raise the limit)" : "";
    setStatus(`${n} ${n === 1 ? "place" : "places"} ${label}${more}`);
    // Nearest places may lie outside the view: bring them in, never zooming in past the user.
    if (fit && n > 0) {
      const bounds = resultLayer.getBounds().extend(shapeLayer.getBounds());
      if (!map.getBounds().contains(bounds))
        map.fitBounds(bounds.pad(0.15), { maxZoom: map.getZoom() });
    }
  } catch (err) {
    if (seq === querySeq) setStatus(err.message, "error");
  }
}

const draw = new DrawTool(map, shapeLayer, {
  point(ll) {
    shapeLayer.clearLayers();
    L.circleMarker(ll, {
      radius: 5,
      color: "#2f6fdf",
      weight: 2,
      fillOpacity: 1,
      interactive: false,
    }).addTo(shapeLayer);
    const q = new URLSearchParams({
      lng: ll.lng.toFixed(6),
      lat: ll.lat.toFixed(6),
      limit: String(limit()),
    });
    void runQuery(`near ${fmt(ll.lng)}, ${fmt(ll.lat)}`, () => api(`v1/places/near?${q}`), {
      fit: true,
    });
  },
  box(box) {
    void runQuery("in the box", () => api("v1/places/search", { within: { box }, limit: limit() }));
  },
  polygon(geometry) {
    void runQuery("in the polygon", () =>
      api("v1/places/search", { within: { geometry }, limit: limit() }),
    );
  },
});

function setMode(mode) {
  draw.setMode(mode);
  for (const b of document.querySelectorAll("[data-mode]"))
    b.setAttribute("aria-pressed", String(b.dataset.mode === mode));
  $("hint").textContent = HINTS[mode];
}
for (const b of document.querySelectorAll("[data-mode]"))
  b.addEventListener("click", () => setMode(b.dataset.mode));
$("clear").addEventListener("click", () => {
  querySeq++;
  for (const layer of [shapeLayer, resultLayer, liveLayer]) layer.clearLayers();
  resultMarkers.clear();
  liveMarkers.clear();
  $("results").replaceChildren();
  $("events").replaceChildren();
  setStatus("");
});
setMode("near");

// ---- live feed -------------------------------------------------------------------------------

function flash(marker, gone = false) {
  const node = marker.getElement();
  if (!node) return;
  node.classList.toggle("gm-gone", gone);
  node.classList.remove("gm-flash");
  void node.offsetWidth; // restart the animation
  node.classList.add("gm-flash");
}

function applyEvent(evt) {
  const feature = evt.place;
  const gone = evt.kind === "deleted" || evt.kind === "exit";
  const known = liveMarkers.get(evt.id) ?? resultMarkers.get(evt.id);
  if (gone) {
    if (known) flash(known, true);
    const live = liveMarkers.get(evt.id);
    if (live) {
      liveMarkers.delete(evt.id);
      setTimeout(() => liveLayer.removeLayer(live), 1200);
    }
  } else if (feature?.geometry?.type === "Point") {
    const [lng, lat] = feature.geometry.coordinates;
    let marker = known;
    if (marker) {
      marker.setLatLng([lat, lng]);
      marker.feature = feature;
    } else {
      marker = placeMarker(feature, "live").addTo(liveLayer);
      liveMarkers.set(evt.id, marker);
      if (liveMarkers.size > MAX_LIVE_MARKERS) {
        const [oldest, old] = liveMarkers.entries().next().value;
        liveMarkers.delete(oldest);
        liveLayer.removeLayer(old);
      }
    }
    flash(marker);
  }
  const at = new Date(evt.at ?? Date.now());
  const name = feature?.properties?.name ?? evt.id;
  addEventRow(
    el("time", {}, Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString()),
    el("span", { class: `kind kind-${evt.kind}` }, String(evt.kind)),
    String(name),
    " ",
    el(
      "span",
      { class: "meta" },
      [evt.region, evt.seq !== undefined ? `#${evt.seq}` : ""].filter(Boolean).join(" "),
    ),
  );
}

function addEventRow(...children) {
  const list = $("events");
  list.prepend(el("li", {}, ...children));
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

const liveUrl = new URL("v1/live", location.href);
liveUrl.protocol = location.protocol === "https:" ? "wss:" : "ws:";
const STATE_BADGE = { off: "", connecting: "busy", live: "ok", closed: "bad", error: "bad" };
const feed = new LiveFeed(liveUrl, {
  state(state, text) {
    const badge = $("live-state");
    badge.className = `badge ${STATE_BADGE[state]}`;
    badge.dataset.state = state;
    badge.textContent = text;
  },
  event: applyEvent,
  notice: (text) => addEventRow(el("span", { class: "notice" }, text)),
});
const viewBox = () => toBox(map.getBounds());
$("live-toggle").addEventListener("change", (e) => {
  if (e.target.checked) feed.start(viewBox());
  else feed.stop();
});
map.on("moveend", () => {
  if ($("live-toggle").checked) feed.setArea(viewBox());
});

// ---- start -----------------------------------------------------------------------------------

void refreshCluster();
