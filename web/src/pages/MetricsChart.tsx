// Chosen metrics across a model's versions (oldest to newest), drawn with Chart.js. Only the parts
// of Chart.js a line chart needs are registered, so the rest is left out of the bundle.
import { useState } from "react";
import { CategoryScale, Chart, Legend, LineElement, LinearScale, PointElement, Tooltip } from "chart.js";
import { Line } from "react-chartjs-2";
import { metricOf } from "../format.ts";

Chart.register(CategoryScale, LinearScale, PointElement, LineElement, Legend, Tooltip);

const COLOURS = ["#0b57d0", "#b3261e", "#146c2e", "#8a4b00", "#6f2da8", "#006a6a"];

interface Props {
  readonly keys: readonly string[];
  readonly versions: readonly { version: number; metrics: readonly { key: string; value: number }[] }[];
}

export function MetricsChart({ keys, versions }: Props) {
  const [chosen, setChosen] = useState<readonly string[]>(() => keys.slice(0, 1));
  if (keys.length === 0) return <p className="muted">No version has metrics yet.</p>;
  const ordered = [...versions].sort((a, b) => a.version - b.version);
  const shown = chosen.filter((key) => keys.includes(key));
  return (
    <div className="chart">
      <fieldset className="metric-choice">
        <legend>Metrics to plot</legend>
        {keys.map((key) => (
          <label key={key} className="inline">
            <input
              type="checkbox"
              checked={shown.includes(key)}
              onChange={(e) =>
                setChosen((all) => (e.target.checked ? [...all, key] : all.filter((k) => k !== key)))
              }
            />{" "}
            {key}
          </label>
        ))}
      </fieldset>
      <div className="chart-canvas">
        <Line
          role="img"
          aria-label={`Line chart of ${shown.join(", ") || "no metrics"} across versions ${ordered.map((v) => v.version).join(", ")}; the versions table lists the same values.`}
          options={{ responsive: true, maintainAspectRatio: false, animation: false, spanGaps: true }}
          data={{
            labels: ordered.map((v) => `v${v.version}`),
            datasets: shown.map((key, i) => ({
              label: key,
              data: ordered.map((v) => metricOf(v, key) ?? null),
              borderColor: COLOURS[i % COLOURS.length],
              backgroundColor: COLOURS[i % COLOURS.length],
            })),
          }}
        />
      </div>
    </div>
  );
}
