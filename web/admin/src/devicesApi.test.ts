import { describe, expect, it } from 'vitest';
import { deviceQueryString, kNoFilter, parseTagList } from './devicesApi';
import { kFallbackViewport, rowWindow } from './virtualRows';

describe('deviceQueryString', () => {
  it('sends only the filters in use', () => {
    expect(deviceQueryString(kNoFilter, null)).toBe('limit=250&view=summary');
  });

  it('sends every filter, the sort and the cursor', () => {
    const q = deviceQueryString(
      { q: ' pi- ', states: ['pending', 'accepted'], online: 'true', selector: 'site in (a,b)', group: 'g', version: '1.2.0', sort: { key: 'last_seen', descending: true } },
      'abc',
      300,
    );
    expect(Object.fromEntries(new URLSearchParams(q))).toEqual({
      limit: '300', view: 'summary', q: 'pi-', state: 'pending,accepted', online: 'true', selector: 'site in (a,b)', group: 'g', version: '1.2.0',
      sort: '-last_seen', cursor: 'abc',
    });
  });
});

describe('parseTagList', () => {
  it('splits on commas and new lines and drops blanks', () => {
    expect(parseTagList(' site=paris,\ngpu , ,')).toEqual(['site=paris', 'gpu']);
  });
});

describe('rowWindow', () => {
  it('renders the visible rows and the overscan around them', () => {
    expect(rowWindow(4000, 400, 40, 10000, 10)).toEqual({ start: 90, end: 120, before: 3600, after: (10000 - 120) * 40 });
  });

  it('stays inside the list at both ends', () => {
    expect(rowWindow(0, 400, 40, 5, 10)).toEqual({ start: 0, end: 5, before: 0, after: 0 });
    expect(rowWindow(1e9, 400, 40, 100, 10).end).toBe(100);
  });

  it('assumes a viewport when the element reports none', () => {
    expect(rowWindow(0, 0, 40, 10000, 0).end).toBe(kFallbackViewport / 40);
  });
});
