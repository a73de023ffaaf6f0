import Box from "@cloudscape-design/components/box";
import { formatRelativeTime, formatTime } from "../runs/format";

/** "3 min ago", with the exact time on hover (and for screen readers, as the time element's title).
 * `missing` is what stands for no time at all ("-", or "never" for a host that has not reported). */
export function RelativeTime({ iso, missing = "-" }: { iso: string | null; missing?: string }) {
  if (!iso) return <Box variant="span" color="text-status-inactive">{missing}</Box>;
  const exact = formatTime(iso);
  return <time dateTime={iso} title={exact}>{formatRelativeTime(iso)}</time>;
}
