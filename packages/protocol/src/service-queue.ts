/**
 * A bounded FIFO with O(1) push/shift/unshift and lazy removal, used for per-service request
 * queues. `size` counts only live entries, so the bound holds after cancellations.
 */
export class ServiceQueue<T extends { queued: boolean }> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private live = 0;

  /** `onChange(+1/-1)` lets an owner keep a total over many queues without scanning them. */
  constructor(
    readonly limit: number,
    private readonly onChange: (delta: number) => void = () => undefined,
  ) {}

  get size(): number {
    return this.live;
  }

  get full(): boolean {
    return this.live >= this.limit;
  }

  push(item: T): void {
    item.queued = true;
    this.items.push(item);
    this.live += 1;
    this.onChange(1);
  }

  /** Puts an item back at the head (re-dispatch after its worker died keeps its place). */
  unshift(item: T): void {
    item.queued = true;
    if (this.head > 0) {
      this.head -= 1;
      this.items[this.head] = item;
    } else {
      this.items.unshift(item);
    }
    this.live += 1;
    this.onChange(1);
  }

  shift(): T | undefined {
    while (this.head < this.items.length) {
      const item = this.items[this.head];
      this.items[this.head] = undefined;
      this.head += 1;
      if (item?.queued) {
        item.queued = false;
        this.live -= 1;
        this.onChange(-1);
        this.compact();
        return item;
      }
    }
    this.compact();
    return undefined;
  }

  /** Marks an item removed; it is skipped when its turn comes. */
  remove(item: T): void {
    if (!item.queued) return;
    item.queued = false;
    this.live -= 1;
    this.onChange(-1);
  }

  /** Every live item, oldest first. */
  *values(): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item?.queued) yield item;
    }
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    } else if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
  }
}
