import type { MetricsSnapshot } from '../../shared/api';
import type { Clock } from './clock';

/**
 * The latest figures of every collector. Collectors write sections; routes
 * read `current()`; nobody runs a collector inside a request.
 */
export class SnapshotStore {
  private readonly sections = new Map<string, unknown>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly clock: Clock,
    private readonly sidecarSection: () => MetricsSnapshot['sidecar']
  ) {}

  /**
   * Replace one section. Listeners hear about it once per call; they read
   * `current()` when they need it (the /events push coalesces, so building a
   * snapshot on every sample would be wasted).
   */
  update(section: string, value: unknown): void {
    this.sections.set(section, value);
    for (const listener of this.listeners) {
      listener();
    }
  }

  get(section: string): unknown {
    return this.sections.get(section);
  }

  current(): MetricsSnapshot {
    const out: Record<string, unknown> = {
      takenAt: new Date(this.clock.now()).toISOString(),
      sidecar: this.sidecarSection()
    };
    for (const [name, value] of this.sections) {
      out[name] = value;
    }
    return out as MetricsSnapshot;
  }

  onUpdate(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
