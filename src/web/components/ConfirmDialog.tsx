// Asks before something that cannot be undone (deleting a VM). The safe choice has focus.
import { useState } from 'react';
import { ErrorNote } from './ErrorNote.js';
import { Modal } from './Modal.js';

export function ConfirmDialog(props: {
  title: string;
  message: string;
  confirmLabel: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <p>{props.message}</p>
      <ErrorNote error={error} />
      <div className="buttons">
        <button type="button" autoFocus onClick={props.onClose}>
          Cancel
        </button>
        <button
          type="button"
          className="danger"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            props.onConfirm().then(props.onClose, (e: unknown) => {
              setError(e);
              setBusy(false);
            });
          }}
        >
          {props.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
