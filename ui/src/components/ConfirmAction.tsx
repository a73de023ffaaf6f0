// A question before a destructive action (stop, abort or delete runs, delete a project or a
// fleet, revoke a token): what it does and to what, with Cancel first.

import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Modal from "@cloudscape-design/components/modal";
import SpaceBetween from "@cloudscape-design/components/space-between";
import type { ReactNode } from "react";

export interface Confirmation {
  header: string;
  /** The button that confirms. */
  action: string;
  /** What happens, in a sentence or two. */
  body: ReactNode;
  /** What is left alone, and why; null when nothing is. */
  skippedNote: string | null;
}

interface Props {
  /** null: the dialog is closed. */
  confirmation: Confirmation | null;
  /** The action is under way: the confirm button spins and the dialog stays until it ends. */
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}

export function ConfirmAction({ confirmation, busy, onConfirm, onCancel }: Props) {
  return (
    <Modal
      visible={confirmation !== null}
      onDismiss={() => { if (!busy) onCancel(); }}
      header={confirmation?.header}
      closeAriaLabel="Close"
      footer={
        <Box float="right">
          <SpaceBetween direction="horizontal" size="xs">
            <Button variant="link" disabled={busy} onClick={onCancel}>Cancel</Button>
            <Button variant="primary" loading={busy} onClick={onConfirm}>{confirmation?.action}</Button>
          </SpaceBetween>
        </Box>
      }
    >
      {confirmation && (
        <SpaceBetween size="s">
          <Box>{confirmation.body}</Box>
          {confirmation.skippedNote && <Alert type="warning">{confirmation.skippedNote}</Alert>}
        </SpaceBetween>
      )}
    </Modal>
  );
}
