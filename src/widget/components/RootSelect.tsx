/** The choice of library folder, where a panel has several roots (the toolbar, the move dialog). */
export interface RootSelectProps {
  roots: readonly string[];
  value: number;
  onChange: (root: number) => void;
}

export function RootSelect({ roots, value, onChange }: RootSelectProps) {
  return (
    <select value={String(value)} onChange={(e) => onChange(Number((e.target as HTMLSelectElement).value))}>
      {roots.map((r, i) => (
        <option key={r} value={String(i)}>
          {r}
        </option>
      ))}
    </select>
  );
}
