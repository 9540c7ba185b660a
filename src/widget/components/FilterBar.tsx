/** Search box, kind / base model / status filters and sort, with how many cards match. */
import type { BaseModel, ModelKind } from '../../kernel/protocol';
import { BASE_LABELS, KIND_LABELS, STATUS_LABELS, type SortKey, type StatusFilter, type ViewQuery } from '../filter';
import { formatCount } from '../format';

export interface FilterBarProps {
  query: ViewQuery;
  onChange: (q: ViewQuery) => void;
  kinds: Map<ModelKind, number>;
  bases: Map<BaseModel, number>;
  shown: number;
  total: number;
}

const SORTS: { value: SortKey; label: string }[] = [
  { value: 'name', label: 'Name' },
  { value: 'added', label: 'Date added' },
  { value: 'size', label: 'Size' },
  { value: 'base', label: 'Base model' },
  { value: 'update', label: 'Update available' },
];

const STATUSES: StatusFilter[] = ['identified', 'not_found', 'unverified', 'manual', 'error', 'pending', 'update'];

export function FilterBar({ query, onChange, kinds, bases, shown, total }: FilterBarProps) {
  const set = <K extends keyof ViewQuery>(key: K, value: ViewQuery[K]) => onChange({ ...query, [key]: value });
  const value = (e: Event) => (e.target as HTMLInputElement | HTMLSelectElement).value;
  return (
    <div class="md-filters">
      <label class="md-field md-search">
        <span>Search</span>
        <input
          type="search"
          placeholder="Name, file, trained words, tags"
          value={query.search}
          onInput={(e) => set('search', value(e))}
          onKeyDown={(e) => e.key === 'Escape' && query.search && (e.preventDefault(), set('search', ''))}
        />
      </label>
      <label class="md-field">
        <span>Kind</span>
        <select value={query.kind} onChange={(e) => set('kind', value(e) as ViewQuery['kind'])}>
          <option value="any">All kinds</option>
          {[...kinds.entries()].map(([k, n]) => (
            <option key={k} value={k}>
              {KIND_LABELS[k] ?? k} ({formatCount(n)})
            </option>
          ))}
        </select>
      </label>
      <label class="md-field">
        <span>Base model</span>
        <select value={query.base} onChange={(e) => set('base', value(e) as ViewQuery['base'])}>
          <option value="any">All base models</option>
          {[...bases.entries()].map(([b, n]) => (
            <option key={b} value={b}>
              {BASE_LABELS[b] ?? b} ({formatCount(n)})
            </option>
          ))}
        </select>
      </label>
      <label class="md-field">
        <span>Status</span>
        <select value={query.status} onChange={(e) => set('status', value(e) as StatusFilter)}>
          <option value="any">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s === 'update' ? 'Update available' : STATUS_LABELS[s as Exclude<StatusFilter, 'any' | 'update'>]}
            </option>
          ))}
        </select>
      </label>
      <label class="md-field">
        <span>Sort by</span>
        <select value={query.sort} onChange={(e) => set('sort', value(e) as SortKey)}>
          {SORTS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        class="md-button md-sort-dir"
        aria-label={query.desc ? 'Descending order: switch to ascending' : 'Ascending order: switch to descending'}
        title={query.desc ? 'Descending' : 'Ascending'}
        onClick={() => set('desc', !query.desc)}
      >
        {query.desc ? '↓' : '↑'}
      </button>
      <span class="md-count" aria-live="polite">
        {shown === total ? `${formatCount(total)} models` : `${formatCount(shown)} of ${formatCount(total)} models`}
      </span>
    </div>
  );
}
