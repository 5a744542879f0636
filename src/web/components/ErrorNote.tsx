// An API error shown where it happened: the agent's message, its code, and the fix when
// the message carries one. role=alert so a screen reader announces it.
import { ApiError } from '../api/http.js';

export function ErrorNote({ error, label }: { error: unknown; label?: string }) {
  if (!error) return null;
  const e = error as Error;
  const code = e instanceof ApiError ? e.code : undefined;
  return (
    <div className="error" role="alert" aria-label={label}>
      <p className="error-message">{e.message}</p>
      {code && <p className="error-code">{code}</p>}
    </div>
  );
}
