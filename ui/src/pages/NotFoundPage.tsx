import Box from "@cloudscape-design/components/box";
import Link from "@cloudscape-design/components/link";
import { useFollow } from "../routing/navigation";

export function NotFoundPage({ path }: { path: string }) {
  const follow = useFollow();
  return (
    <Box padding="xl" textAlign="center">
      <Box variant="h1">Nothing at {path}</Box>
      <Link href="/runs" onFollow={follow}>Go to runs</Link>
    </Box>
  );
}
