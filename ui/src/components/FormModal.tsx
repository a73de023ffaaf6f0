// A modal holding a small form (create a user, a token, a project; add a member): Cancel, and a
// submit button that says why it is disabled and spins until the submission settles.

import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Form from "@cloudscape-design/components/form";
import Modal from "@cloudscape-design/components/modal";
import SpaceBetween from "@cloudscape-design/components/space-between";
import { type ReactNode, useState } from "react";

/** A modal with a form: Enter submits too; the submit button spins until `onSubmit` settles. */
export function FormModal({ header, submitText, submitDisabledReason, onClose, onSubmit, children }: {
  header: string; submitText: string; submitDisabledReason?: string | undefined; onClose: () => void;
  onSubmit: () => Promise<void>; children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const submit = async (): Promise<void> => {
    if (submitDisabledReason || busy) return;
    setBusy(true);
    try {
      await onSubmit();
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal visible onDismiss={onClose} header={header}
      footer={
        <Box float="right">
          <SpaceBetween direction="horizontal" size="xs">
            <Button variant="link" onClick={onClose}>Cancel</Button>
            <Button variant="primary" loading={busy} disabled={!!submitDisabledReason}
              disabledReason={submitDisabledReason} onClick={() => void submit()}>{submitText}</Button>
          </SpaceBetween>
        </Box>
      }>
      <form onSubmit={(event) => { event.preventDefault(); void submit(); }}>
        <Form><SpaceBetween size="m">{children}</SpaceBetween></Form>
      </form>
    </Modal>
  );
}
