import Box from "@cloudscape-design/components/box";
import { formatRelativeTime, formatTime } from "../runs/format";

/** "3 min ago", with the exact time on hover (and for screen readers, as the time element's title). */
export function RelativeTime({ iso }: { iso: string | null }) {
  if (!iso) return <Box variant="span" color="text-status-inactive">-</Box>;
  const exact = formatTime(iso);
  return <time dateTime={iso} title={exact}>{formatRelativeTime(iso)}</time>;
}
