// A list read a page at a time (Tasks, the audit log): the first page again whenever
// `readPage` changes (the caller's filter), and load(cursor) appends the page after it.
import { useCallback, useEffect, useState } from 'react';
import { errorText } from './api';

export interface Page<T> {
  items: T[];
  next: string | null;
}

// `readPage` is the caller's useCallback of its filter. A failed first page leaves no list
// (null) and its error; a failed later page keeps what was read.
export function usePages<T>(readPage: (cursor: string | null) => Promise<Page<T>>) {
  const [items, setItems] = useState<T[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (cursor: string | null) => {
      setLoading(true);
      try {
        const page = await readPage(cursor);
        setItems((old) => (cursor && old ? [...old, ...page.items] : page.items));
        setNext(page.next);
        setError(null);
      } catch (e) {
        const m = errorText(e);
        if (m) setError(m);
      } finally {
        setLoading(false);
      }
    },
    [readPage],
  );

  useEffect(() => {
    setItems(null);
    void load(null);
  }, [load]);

  return { items, next, loading, error, setError, load };
}
