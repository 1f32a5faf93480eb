/**
 * Render counts per component, for measuring the render work per snapshot
 * (bench: ui-tests `render work` test reads `window.vigiloRenderStats`).
 * Counting is one Map increment per render; nothing else reads it.
 */
const counts = new Map<string, number>();

export function countRender(name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

export function renderCounts(): Record<string, number> {
  return Object.fromEntries(counts);
}
