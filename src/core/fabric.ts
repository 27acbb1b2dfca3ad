/** @module The live fabric contract: how committed events reach every member's fan-out (in-process now, NATS later). */
import type { StoredEvent } from './store.js';

export type FabricHandler = (events: readonly StoredEvent[]) => void;

export interface Fabric {
  readonly kind: string;
  /** Hand committed events, in id order, to every subscriber. Called only after the store committed them. */
  publish(events: readonly StoredEvent[]): void;
  /** Receive every published batch, in id order. Returns the unsubscribe function. */
  subscribe(handler: FabricHandler): () => void;
  close(): Promise<void>;
}
