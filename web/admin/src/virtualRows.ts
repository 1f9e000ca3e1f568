// A small list virtualiser for rows of one fixed height: which rows a scrolled viewport shows,
// plus `overscan` rows on each side, so a table of 10,000 devices keeps ~60 rows in the DOM.

export interface RowWindow {
  start: number; // first row rendered
  end: number; // one past the last row rendered
  before: number; // px of the rows above `start`, kept by a spacer
  after: number; // px of the rows from `end` on
}

// jsdom and hidden tabs report a height of 0: render as if the viewport were this tall.
export const kFallbackViewport = 800;

export function rowWindow(scrollTop: number, viewport: number, rowHeight: number, count: number, overscan = 10): RowWindow {
  const height = viewport > 0 ? viewport : kFallbackViewport;
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const start = Math.max(0, Math.min(count, first - overscan));
  const end = Math.max(start, Math.min(count, Math.ceil((Math.max(0, scrollTop) + height) / rowHeight) + overscan));
  return { start, end, before: start * rowHeight, after: (count - end) * rowHeight };
}
