// The Fleet page's search and filters. Lists and checkboxes apply at once; the search box and
// the tag selector apply once typing pauses (kTypingMs) or on Enter.
import { FormEvent, useEffect, useRef, useState } from 'react';
import { DeviceQuery, DeviceState, Facets, Group, kDeviceStates } from './devicesApi';

export const kTypingMs = 300;

interface Props {
  query: DeviceQuery;
  onChange: (q: DeviceQuery) => void;
  facets: Facets | null;
  groups: Group[] | null;
}

function tagOptions(facets: Facets | null): string[] {
  if (!facets) return [];
  const out: string[] = [];
  for (const [key, values] of Object.entries(facets.tags ?? {})) {
    for (const v of values) out.push(v ? `${key}=${v}` : key);
  }
  return out;
}

export function FleetFilters({ query, onChange, facets, groups }: Props) {
  const [q, setQ] = useState(query.q);
  const [selector, setSelector] = useState(query.selector);
  const latest = useRef(query);
  latest.current = query;
  // A change from outside (Clear filters) replaces what was typed.
  useEffect(() => setQ(query.q), [query.q]);
  useEffect(() => setSelector(query.selector), [query.selector]);

  // Typed text reaches the query once the user pauses.
  useEffect(() => {
    if (q === latest.current.q && selector === latest.current.selector) return undefined;
    const t = window.setTimeout(() => onChange({ ...latest.current, q, selector }), kTypingMs);
    return () => window.clearTimeout(t);
  }, [q, selector, onChange]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    onChange({ ...latest.current, q, selector });
  };
  const toggleState = (s: DeviceState, on: boolean) =>
    onChange({ ...query, states: on ? kDeviceStates.filter((x) => x === s || query.states.includes(x)) : query.states.filter((x) => x !== s) });
  const tags = tagOptions(facets);
  const versions = facets?.versions ?? [];

  return (
    <form role="search" aria-label="Filter devices" className="filters fleet-filters" onSubmit={submit}>
      <label>
        Search{' '}
        <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="host name or id" maxLength={200} />
      </label>
      <fieldset>
        <legend>State</legend>
        {kDeviceStates.map((s) => (
          <label key={s}>
            <input type="checkbox" checked={query.states.includes(s)} onChange={(e) => toggleState(s, e.target.checked)} /> {s}
          </label>
        ))}
      </fieldset>
      <label>
        Connection{' '}
        <select value={query.online} onChange={(e) => onChange({ ...query, online: e.target.value as DeviceQuery['online'] })}>
          <option value="">any</option>
          <option value="true">online</option>
          <option value="false">offline</option>
        </select>
      </label>
      <label>
        Group{' '}
        <select value={query.group} onChange={(e) => onChange({ ...query, group: e.target.value })} disabled={groups === null}>
          <option value="">any</option>
          {(groups ?? []).map((g) => (
            <option key={g.id} value={g.id}>
              {g.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Version{' '}
        {versions.length > 0 || facets === null ? (
          <select value={query.version} onChange={(e) => onChange({ ...query, version: e.target.value })}>
            <option value="">any</option>
            {versions.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        ) : (
          <input value={query.version} onChange={(e) => onChange({ ...query, version: e.target.value })} maxLength={128} />
        )}
      </label>
      <label>
        Tag{' '}
        <select
          value={tags.includes(selector) ? selector : ''}
          onChange={(e) => {
            setSelector(e.target.value);
            onChange({ ...latest.current, q, selector: e.target.value });
          }}
        >
          <option value="">any</option>
          {tags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        Tag selector{' '}
        <input
          value={selector}
          onChange={(e) => setSelector(e.target.value)}
          placeholder="site=paris,env!=lab"
          maxLength={1024}
          spellCheck={false}
          aria-describedby="selector-help"
        />
      </label>
      <span id="selector-help" className="visually-hidden">
        Requirements joined by commas: key=value, key!=value, key in (a,b), key notin (a,b), key, !key.
      </span>
      <button type="submit">Apply</button>
    </form>
  );
}
