import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import FormField from "@cloudscape-design/components/form-field";
import Input from "@cloudscape-design/components/input";
import SpaceBetween from "@cloudscape-design/components/space-between";
import { useState } from "react";
import { fixedReplicasHint, type ReplicaRange } from "../runs/format";

interface Props {
  range: ReplicaRange;
  desired: number;
  onScale: (replicas: number) => Promise<void>;
  /** Why the caller may not scale it (not theirs to manage); undefined when they may. */
  disabledReason?: string;
}

/** A service's replica count, within its configured range (the server checks it again); a fixed
 * count says how to make it scalable instead; a run the caller may not manage says so. */
export function ScaleControl({ range, desired, onScale, disabledReason }: Props) {
  const [value, setValue] = useState(String(desired));
  const [busy, setBusy] = useState(false);
  const replicas = Number(value);
  const valid = value.trim() !== "" && Number.isInteger(replicas) && replicas >= range.min && replicas <= range.max;
  const fixed = fixedReplicasHint(range);
  if (fixed) return <Box data-testid="scale-fixed">{fixed}</Box>;
  const scale = async (): Promise<void> => {
    setBusy(true);
    try {
      await onScale(replicas);
    } finally {
      setBusy(false);
    }
  };
  return (
    <FormField label="Desired replicas" controlId="replicas"
      description={disabledReason ?? `between ${range.min} and ${range.max}`}
      errorText={valid || disabledReason ? undefined : `a whole number from ${range.min} to ${range.max}`}>
      <SpaceBetween direction="horizontal" size="xs">
        <Input controlId="replicas" type="number" inputMode="numeric" value={value} disabled={!!disabledReason}
          onChange={({ detail }) => setValue(detail.value)} />
        <Button disabled={!!disabledReason || !valid || replicas === desired} loading={busy} onClick={() => void scale()}>Scale</Button>
      </SpaceBetween>
    </FormField>
  );
}
