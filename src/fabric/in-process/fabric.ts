/** @module The single-member fabric: committed events go straight to local subscribers, synchronously, in id order. */
import type { Fabric, FabricHandler } from '../../core/fabric.js';
import type { StoredEvent } from '../../core/store.js';

export class InProcessFabric implements Fabric {
  readonly kind = 'in-process';
  private readonly handlers = new Set<FabricHandler>();

  publish(events: readonly StoredEvent[]): void {
    if (events.length === 0) return;
    for (const h of this.handlers) {
      try {
        h(events);
      } catch {
        // A faulty subscriber must not stop delivery to the others; subscribers report their own failures.
      }
    }
  }

  subscribe(handler: FabricHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
