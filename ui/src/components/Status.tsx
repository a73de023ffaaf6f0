import Badge from "@cloudscape-design/components/badge";
import SpaceBetween from "@cloudscape-design/components/space-between";
import StatusIndicator from "@cloudscape-design/components/status-indicator";
import { Fragment } from "react";
import { breakPoints, statusIndicatorType, statusLabel } from "../runs/status";

interface Props {
  status: string;
  terminationReason?: string | null;
  deleted?: boolean;
}

/** A run's or replica's status, with its reason, and a "deleted" badge for deleted runs. In a
 * narrow column a long reason wraps between its words, never inside one. */
export function Status({ status, terminationReason = null, deleted = false }: Props) {
  const indicator = (
    <StatusIndicator type={statusIndicatorType(status)}>
      {/* The indicator breaks anywhere (break-all); the label breaks between words. */}
      <span style={{ wordBreak: "normal", overflowWrap: "break-word" }}>
        {breakPoints(statusLabel(status, terminationReason)).map((piece, index) => (
          <Fragment key={index}>{piece}<wbr /></Fragment>
        ))}
      </span>
    </StatusIndicator>
  );
  if (!deleted) return indicator;
  return <SpaceBetween direction="horizontal" size="xs">{indicator}<Badge color="grey">deleted</Badge></SpaceBetween>;
}
