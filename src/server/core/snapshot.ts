import type { MetricsSnapshot } from '../../shared/api';
import type { Clock } from './clock';

/**
 * The latest figures of every collector. Collectors write sections; routes
 * read `current()`; nobody runs a collector inside a request.
 */
export class SnapshotStore {
  private readonly sections = new Map<string, unknown>();
  private readonly listeners = new Set<(snapshot: MetricsSnapshot) => void>();
  private version = 0;

  constructor(
    private readonly clock: Clock,
    private readonly sidecarSection: () => MetricsSnapshot['sidecar']
  ) {}

  /** Replace one section. Listeners hear about it once per call. */
  update(section: string, value: unknown): void {
    this.sections.set(section, value);
    this.version++;
    const snapshot = this.current();
    for (const listener of this.listeners) {
      listener(snapshot);
    }
  }

  get(section: string): unknown {
    return this.sections.get(section);
  }

  get revision(): number {
    return this.version;
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

  onUpdate(listener: (snapshot: MetricsSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
