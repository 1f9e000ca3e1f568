import { describe, expect, it } from 'vitest';
import { timeWindow } from './Chart';

describe('timeWindow', () => {
  it('ends now and spans the range, whatever the data', () => {
    expect(timeWindow(3600, 1_764_000_000)).toEqual([1_763_996_400, 1_764_000_000]);
  });
});
