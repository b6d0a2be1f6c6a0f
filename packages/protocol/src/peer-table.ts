/**
 * What a broker knows about its peers' free capacity, fed by the state flow (PUB/SUB). Fixes
 * the guide's peering3 weaknesses: capacity is kept per peer with the time it was heard (not
 * one integer overwritten by whoever spoke last); a peer silent for liveness × interval is
 * dead until it speaks again; overflow picks the live peer with the most free capacity and
 * decrements the local view when it sends work there.
 */
export interface PeerState {
  readonly name: string;
  /** Free worker slots the peer last announced, minus work sent to it since. */
  capacity: number;
  /** When the peer was last heard (ms since epoch); 0 = never. */
  heardAt: number;
  alive: boolean;
  /** Regions whose leaf services the peer's workers offer (lower-cased); undefined = all. */
  serves: ReadonlySet<string> | undefined;
}

export class PeerTable {
  private readonly peers = new Map<string, PeerState>();

  constructor(
    names: readonly string[],
    private readonly expiryMs: number,
  ) {
    for (const name of names)
      this.peers.set(name.toLowerCase(), {
        name,
        capacity: 0,
        heardAt: 0,
        alive: false,
        serves: undefined,
      });
  }

  /** Records a state announcement; returns true when the peer (re)became alive. */
  update(name: string, capacity: number, now = Date.now(), serves?: ReadonlySet<string>): boolean {
    const peer = this.peers.get(name.toLowerCase());
    if (!peer) return false;
    const revived = !peer.alive;
    peer.capacity = Math.max(0, capacity);
    peer.serves = serves;
    peer.heardAt = now;
    peer.alive = true;
    return revived;
  }

  /** Marks peers silent for longer than the expiry dead; returns the ones that just died. */
  expire(now = Date.now()): PeerState[] {
    const died: PeerState[] = [];
    for (const peer of this.peers.values()) {
      if (peer.alive && now - peer.heardAt > this.expiryMs) {
        peer.alive = false;
        peer.capacity = 0;
        died.push(peer);
      }
    }
    return died;
  }

  /** Marks one peer dead at once (e.g. a send to it was unroutable). */
  kill(name: string): PeerState | undefined {
    const peer = this.peers.get(name.toLowerCase());
    if (!peer?.alive) return undefined;
    peer.alive = false;
    peer.capacity = 0;
    return peer;
  }

  /**
   * The live peer with the most free capacity (ties: configuration order), or undefined. With
   * `region` (a `service@region` request), only peers whose workers serve that region count.
   */
  pickMostFree(exclude?: string, region?: string): PeerState | undefined {
    let best: PeerState | undefined;
    for (const peer of this.peers.values()) {
      if (!peer.alive || peer.capacity <= 0 || peer.name.toLowerCase() === exclude?.toLowerCase())
        continue;
      if (region !== undefined && peer.serves !== undefined && !peer.serves.has(region)) continue;
      if (!best || peer.capacity > best.capacity) best = peer;
    }
    return best;
  }

  /** Whether a live peer's workers serve `region`'s leaves (it could take them, busy or not). */
  anyServes(region: string): boolean {
    for (const peer of this.peers.values())
      if (peer.alive && (peer.serves === undefined || peer.serves.has(region))) return true;
    return false;
  }

  /** Work was sent to a peer: its free capacity, as we see it, drops by one until it speaks. */
  consume(name: string): void {
    const peer = this.peers.get(name.toLowerCase());
    if (peer) peer.capacity = Math.max(0, peer.capacity - 1);
  }

  /** Whether any peer is alive (someone to announce capacity changes to). */
  anyAlive(): boolean {
    for (const peer of this.peers.values()) if (peer.alive) return true;
    return false;
  }

  get(name: string): PeerState | undefined {
    return this.peers.get(name.toLowerCase());
  }

  isAlive(name: string): boolean {
    return this.peers.get(name.toLowerCase())?.alive ?? false;
  }

  list(): PeerState[] {
    return [...this.peers.values()];
  }
}
