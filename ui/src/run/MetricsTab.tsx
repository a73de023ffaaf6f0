import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import ColumnLayout from "@cloudscape-design/components/column-layout";
import Header from "@cloudscape-design/components/header";
import LineChart from "@cloudscape-design/components/line-chart";
import SpaceBetween from "@cloudscape-design/components/space-between";
import type { ApiClient } from "../api/client";
import type { Run } from "../api/types";
import { useReplicaMetrics } from "../hooks/useReplicaMetrics";
import { chartSeries, cpuDomain, formatBytes, formatPercent, type ReplicaSamples } from "../metrics/series";

const time = (date: Date): string => date.toLocaleTimeString();

/** CPU and memory of each replica over time, as the host samples them (every 5 s). */
export function MetricsTab({ api, run }: { api: ApiClient; run: Run }) {
  const { samples, loaded, error } = useReplicaMetrics(api, run);
  return (
    <SpaceBetween size="m">
      {error && <Alert type="warning" header="Could not read the metrics">{error.message}</Alert>}
      <ColumnLayout columns={2}>
        <MetricChart testId="cpu-chart" title="CPU" description="100% is one busy core" samples={samples} metric="cpu"
          loaded={loaded} yTickFormatter={formatPercent} yDomain={cpuDomain(samples)} />
        <MetricChart testId="memory-chart" title="Memory" description="resident memory of the replica's processes"
          samples={samples} metric="memory" loaded={loaded} yTickFormatter={formatBytes} />
      </ColumnLayout>
    </SpaceBetween>
  );
}

interface ChartProps {
  testId: string;
  title: string;
  description: string;
  samples: ReplicaSamples;
  metric: "cpu" | "memory";
  loaded: boolean;
  yTickFormatter: (value: number) => string;
  yDomain?: [number, number];
}

function MetricChart({ testId, title, description, samples, metric, loaded, yTickFormatter, yDomain }: ChartProps) {
  const series = chartSeries(samples, metric);
  // A line needs two samples: the fewest any replica has says whether every line is drawn (tests wait on it).
  const fewest = series.length ? Math.min(...series.map((line) => line.data.length)) : 0;
  return (
    <div data-testid={testId} data-fewest-samples={fewest}>
      <Header variant="h3" description={description}>{title}</Header>
      <LineChart<Date>
        series={series}
        xScaleType="time"
        xTickFormatter={time}
        yTickFormatter={yTickFormatter}
        yDomain={yDomain}
        ariaLabel={`${title} per replica`}
        height={220}
        hideFilter
        statusType={loaded ? "finished" : "loading"}
        loadingText="Reading samples"
        empty={<Box textAlign="center" color="inherit">No samples yet: replicas are sampled every 5 s while they run</Box>}
        i18nStrings={{ xTickFormatter: time, yTickFormatter }}
      />
    </div>
  );
}
