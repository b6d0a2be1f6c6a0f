/** What the gateway knows of one region's broker (from its `broker.status` service). */
export interface RegionStatus {
  readonly reachable: boolean;
  readonly workers?: number;
  readonly freeCapacity?: number;
  /** Requests waiting in the broker's service queues. */
  readonly queued?: number;
  /** Requests the broker holds, queued or running. */
  readonly pending?: number;
  readonly peers?: readonly {
    readonly name: string;
    readonly alive: boolean;
    readonly capacity: number;
  }[];
  readonly counters?: Readonly<Record<string, number>>;
}

/** The live view of the cluster the HTTP routes and metrics read. */
export interface ClusterView {
  /** Live status per region (from the brokers). */
  regionStatus(): Promise<Readonly<Record<string, RegionStatus>>>;
  /** Whether the gateway can serve: at least one broker reachable. */
  ready(): Promise<{ ready: boolean; detail: Record<string, unknown> }>;
}
