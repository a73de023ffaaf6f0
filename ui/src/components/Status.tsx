import Badge from "@cloudscape-design/components/badge";
import SpaceBetween from "@cloudscape-design/components/space-between";
import StatusIndicator from "@cloudscape-design/components/status-indicator";
import { statusIndicatorType, statusLabel } from "../runs/status";

interface Props {
  status: string;
  terminationReason?: string | null;
  deleted?: boolean;
}

/** A run's or replica's status, with its reason, and a "deleted" badge for deleted runs. */
export function Status({ status, terminationReason = null, deleted = false }: Props) {
  const indicator = (
    <StatusIndicator type={statusIndicatorType(status)}>{statusLabel(status, terminationReason)}</StatusIndicator>
  );
  if (!deleted) return indicator;
  return <SpaceBetween direction="horizontal" size="xs">{indicator}<Badge color="grey">deleted</Badge></SpaceBetween>;
}
