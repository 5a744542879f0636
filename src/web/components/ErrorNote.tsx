// An API error shown where it happened: the agent's message, its code, and the fix when
// the message carries one. role=alert so a screen reader announces it.
export function ErrorNote({ error, label }: { error: unknown; label?: string }) {
  if (!error) return null;
  // ApiError, or a job report's {code, message}: both carry the catalogue code.
  const e = error as { message?: string; code?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  return (
    <div className="error" role="alert" aria-label={label}>
      <p className="error-message">{e.message ?? String(error)}</p>
      {code && <p className="error-code">{code}</p>}
    </div>
  );
}
