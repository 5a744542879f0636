// "Add connection": a name, the agent's URL, its client token and (optionally) the CA file,
// written to the hosts file by `vmhop ui`, the same file `vmhop host add` writes.
import { useState, type FormEvent } from 'react';
import { request } from '../../api/http.js';
import { ErrorNote } from '../../components/ErrorNote.js';

export function AddHostForm({ onAdded }: { onAdded: () => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const body = {
      name: String(f.get('name')),
      url: String(f.get('url')),
      ...(f.get('token') ? { token: String(f.get('token')) } : {}),
      ...(f.get('ca') ? { ca: String(f.get('ca')) } : {}),
    };
    setBusy(true);
    request('POST', '/api/hosts', body).then(
      () => {
        setBusy(false);
        setError(undefined);
        form.reset();
        onAdded();
      },
      (err: unknown) => {
        setBusy(false);
        setError(err);
      },
    );
  };
  return (
    <form className="panel" aria-labelledby="add-host-title" onSubmit={submit}>
      <h2 id="add-host-title">Add connection</h2>
      <div className="grid">
        <label>
          Name
          <input name="name" required placeholder="b" autoComplete="off" />
        </label>
        <label>
          Agent URL
          <input name="url" required placeholder="https://10.99.0.12:8443" autoComplete="off" />
        </label>
        <label>
          Token
          <input name="token" type="password" autoComplete="off" />
        </label>
        <label>
          CA file (on this machine)
          <input name="ca" placeholder="/etc/vmhop/ca.pem" autoComplete="off" />
        </label>
      </div>
      <ErrorNote error={error} />
      <div className="buttons">
        <button type="submit" className="primary" disabled={busy}>
          Add connection
        </button>
      </div>
    </form>
  );
}
