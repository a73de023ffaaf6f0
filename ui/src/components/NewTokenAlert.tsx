// A token's secret, shown the one time the API sends it, with a copy button.

import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import CopyToClipboard from "@cloudscape-design/components/copy-to-clipboard";
import SpaceBetween from "@cloudscape-design/components/space-between";

export function NewTokenAlert({ header, secret, onDismiss }: { header: string; secret: string; onDismiss: () => void }) {
  return (
    <Alert type="success" header={header} dismissible onDismiss={onDismiss} data-testid="new-token">
      <SpaceBetween size="xs">
        <Box variant="p">Copy it now: it is shown only this once (the server keeps only its hash).</Box>
        <CopyToClipboard variant="inline" textToCopy={secret} copyButtonAriaLabel="Copy the token"
          copySuccessText="Token copied" copyErrorText="Could not copy the token" />
      </SpaceBetween>
    </Alert>
  );
}
