// A VM or job state as a coloured word; the word carries the meaning, the colour only helps.
export function StateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state}`}>{state}</span>;
}
