// Client of the gateway's live feed (`WS /v1/live`, JSON text frames): one subscription at a time
// to a box, replaced when the box changes; reconnects with back-off while the feed is on.

/** Delays before reconnecting after the socket closed, by attempt. */
const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000];
/** Map moves closer together than this make one resubscription. */
const RESUBSCRIBE_MS = 300;

/**
 * @typedef {"off" | "connecting" | "live" | "closed" | "error"} FeedState
 * @typedef {{
 *   state(state: FeedState, text: string): void,
 *   event(event: object): void,
 *   notice(text: string): void,
 * }} FeedHandlers
 */

export class LiveFeed {
  #url;
  #on;
  #socket = null;
  #enabled = false;
  #area = null; // [[w, s], [e, n]]
  #subscription = null; // id of the subscription in force (or asked for)
  #count = 0;
  #attempt = 0;
  #retryTimer = null;
  #debounceTimer = null;

  /** @param {string | URL} url  @param {FeedHandlers} handlers */
  constructor(url, handlers) {
    this.#url = url;
    this.#on = handlers;
  }

  /** Opens the socket and subscribes to `box`. */
  start(box) {
    if (this.#enabled) return this.setArea(box);
    this.#enabled = true;
    this.#area = box;
    this.#attempt = 0;
    this.#open();
  }

  /** Unsubscribes and closes the socket. */
  stop() {
    this.#enabled = false;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#debounceTimer);
    const ws = this.#socket;
    this.#socket = null;
    if (ws) {
      if (ws.readyState === WebSocket.OPEN && this.#subscription)
        ws.send(JSON.stringify({ op: "unsubscribe", id: this.#subscription }));
      ws.close(1000, "feed turned off");
    }
    this.#subscription = null;
    this.#on.state("off", "off");
  }

  /** Follows another box (debounced): the old subscription is dropped, a new one made. */
  setArea(box) {
    this.#area = box;
    if (!this.#enabled) return;
    clearTimeout(this.#debounceTimer);
    this.#debounceTimer = setTimeout(() => this.#subscribe(), RESUBSCRIBE_MS);
  }

  #open() {
    this.#on.state("connecting", "connecting…");
    let ws;
    try {
      ws = new WebSocket(this.#url);
    } catch (err) {
      this.#retry(`cannot open the socket: ${err.message}`);
      return;
    }
    let opened = false;
    this.#socket = ws;
    ws.onopen = () => {
      opened = true;
      this.#attempt = 0;
      this.#subscription = null;
      this.#subscribe();
    };
    ws.onmessage = (e) => this.#receive(e.data);
    ws.onclose = (e) => {
      if (ws !== this.#socket) return; // an old socket, replaced or turned off
      this.#socket = null;
      this.#subscription = null;
      if (!this.#enabled) return;
      const why = e.reason ? `: ${e.reason}` : "";
      this.#retry(opened ? `closed (${e.code}${why})` : "cannot connect to the live feed");
    };
  }

  #retry(reason) {
    const delay = RETRY_MS[Math.min(this.#attempt++, RETRY_MS.length - 1)];
    this.#on.state("closed", `${reason} · retrying in ${delay / 1000} s`);
    this.#retryTimer = setTimeout(() => this.#enabled && this.#open(), delay);
  }

  #subscribe() {
    const ws = this.#socket;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.#area) return;
    if (this.#subscription) ws.send(JSON.stringify({ op: "unsubscribe", id: this.#subscription }));
    this.#subscription = `map-${++this.#count}`;
    ws.send(JSON.stringify({ op: "subscribe", id: this.#subscription, area: { box: this.#area } }));
    this.#on.state("connecting", "subscribing…");
  }

  #receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      this.#on.notice("unreadable message from the live feed");
      return;
    }
    switch (msg?.type) {
      case "subscribed":
        if (msg.id === this.#subscription) {
          const regions = Array.isArray(msg.regions) ? msg.regions.join(", ") : "";
          this.#on.state("live", regions ? `live · ${regions}` : "live");
        }
        break;
      case "event":
        // Events of a subscription already replaced may still be in flight.
        if (msg.subscription === this.#subscription) this.#on.event(msg);
        break;
      case "gap":
        this.#on.notice(
          `some events were missed${typeof msg.region === "string" ? ` in ${msg.region}` : ""}`,
        );
        break;
      case "dropped":
        this.#on.notice(`${msg.count} event(s) dropped: more than this page could keep up with`);
        break;
      case "error": {
        const text = `${msg.error?.code ?? "error"}: ${msg.error?.message ?? "unknown"}`;
        this.#on.state("error", text);
        this.#on.notice(text);
        break;
      }
      default:
        break;
    }
  }
}
