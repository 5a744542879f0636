// Make a volume in a pool: a name, a size, qcow2 or raw, optionally over a backing volume.
import { useState, type FormEvent } from 'react';
import { agent, enc } from '../../api/http.js';
import { ErrorNote } from '../../components/ErrorNote.js';

export function CreateVolumeForm(props: { host: string; pool: string; onCreated: () => void }) {
  const [error, setError] = useState<unknown>();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const size = Number(f.get('sizeMiB') || 0);
    const body = {
      name: String(f.get('name')),
      format: String(f.get('format')),
      ...(size ? { sizeBytes: size * 1024 * 1024 } : {}),
      ...(f.get('backing') ? { backingVolume: String(f.get('backing')) } : {}),
    };
    agent(props.host, 'POST', `/v1/pools/${enc(props.pool)}/volumes`, body).then(() => {
      setError(undefined);
      form.reset();
      props.onCreated();
    }, setError);
  };
  return (
    <form
      className="inline-form"
      onSubmit={submit}
      aria-label={`New volume in ${props.pool} on ${props.host}`}
    >
      <label>
        Volume name
        <input name="name" required autoComplete="off" />
      </label>
      <label>
        Size (MiB)
        <input name="sizeMiB" type="number" min={1} />
      </label>
      <label>
        Format
        <select name="format" defaultValue="qcow2">
          <option>qcow2</option>
          <option>raw</option>
        </select>
      </label>
      <label>
        Backing volume
        <input name="backing" autoComplete="off" />
      </label>
      <button type="submit">Create volume</button>
      <ErrorNote error={error} />
    </form>
  );
}
