// .tsx like the other widget tests: the Node suite (jest.config.js) takes every *.test.ts, the widget suite runs these under jsdom.
/**
 * The grid's column arithmetic: for any width the rows have (fractional in a
 * real page: JupyterLab's output area, a side-by-side output, zoom), the
 * columns and gaps fit inside it, so the last card's right border is never
 * clipped. The real page is checked at several widths in tests/e2e.
 */
import { CARD_MIN_WIDTH, GAP, gridLayout } from '../../src/widget/components/CardGrid';

test.each([1400, 1399.5, 1234.56, 1186.4, 960, 700.25, 472, 464, 451.9, 300, 219.5, 100])('width %p: the columns fit, as many as the minimum card width allows', (width) => {
  const { cols, colWidth } = gridLayout(width);
  expect(cols * colWidth + (cols - 1) * GAP).toBeLessThanOrEqual(width);
  if (width >= CARD_MIN_WIDTH) expect(colWidth).toBeGreaterThanOrEqual(CARD_MIN_WIDTH);
  // One more column would be narrower than the minimum.
  expect(((cols + 1) * CARD_MIN_WIDTH + cols * GAP) > Math.floor(width)).toBe(true);
  expect(Number.isInteger(colWidth)).toBe(true);
});
