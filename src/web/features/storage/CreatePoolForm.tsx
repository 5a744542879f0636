// Define a pool on a host: dir (local folder), shared (same path on every host) or block devices.
import { useState, type FormEvent } from 'react';
import { agent } from '../../api/http.js';
import { ErrorNote } from '../../components/ErrorNote.js';

export function CreatePoolForm(props: { host: string; onCreated: () => void }) {
  const [kind, setKind] = useState('dir');
  const [error, setError] = useState<unknown>();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const where = String(f.get('where') ?? '');
    const body =
      kind === 'block'
        ? { name: f.get('name'), kind, devices: where.split(/[\s,]+/).filter(Boolean) }
        : { name: f.get('name'), kind, path: where };
    agent(props.host, 'POST', '/v1/pools', body).then(() => {
      setError(undefined);
      form.reset();
      props.onCreated();
    }, setError);
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={`New pool on ${props.host}`}>
      <label>
        Pool name
        <input name="name" required autoComplete="off" />
      </label>
      <label>
        Kind
        <select name="kind" value={kind} onChange={(e) => setKind(e.target.value)}>
          <option value="dir">dir (local folder)</option>
          <option value="shared">shared (same path on all hosts)</option>
          <option value="block">block (devices)</option>
        </select>
      </label>
      <label>
        {kind === 'block' ? 'Devices (/dev/..., comma separated)' : 'Path'}
        <input name="where" required autoComplete="off" />
      </label>
      <button type="submit">Create pool</button>
      <ErrorNote error={error} />
    </form>
  );
}
