import { Graph as DagreGraph, layout } from "@dagrejs/dagre";
import { useMemo } from "preact/hooks";
import { label } from "../format";
import type { Step } from "../types";

const NODE_W = 150;
const NODE_H = 44;

interface Placed {
  nodes: { id: string; x: number; y: number; step: Step }[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
  width: number;
  height: number;
}

function place(steps: Step[], vertical: boolean): Placed {
  const g = new DagreGraph();
  g.setGraph({ rankdir: vertical ? "TB" : "LR", nodesep: 18, ranksep: 42, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const step of steps) g.setNode(step.id, { width: NODE_W, height: NODE_H });
  const known = new Set(steps.map((s) => s.id));
  for (const step of steps) for (const need of step.needs) if (known.has(need)) g.setEdge(need, step.id);
  layout(g);
  const graph = g.graph();
  return {
    nodes: steps.map((step) => {
      const n = g.node(step.id);
      return { id: step.id, x: n.x, y: n.y, step };
    }),
    edges: g.edges().map((e) => ({ from: e.v, to: e.w, points: g.edge(e).points ?? [] })),
    width: graph.width ?? NODE_W,
    height: graph.height ?? NODE_H,
  };
}

/** The steps as a DAG laid out by dagre, each node coloured by its state. */
export function StepGraph({
  steps,
  selected,
  onSelect,
}: {
  steps: Step[];
  selected: string | null;
  onSelect: (id: string | null) => void;
}) {
  const vertical = typeof innerWidth === "number" && innerWidth < 700;
  const shape = steps.map((s) => `${s.id}<${s.needs.join(",")}`).join(";");
  const placed = useMemo(() => place(steps, vertical), [shape, vertical]);
  const byId = new Map(steps.map((s) => [s.id, s]));
  return (
    <div class="graph" role="group" aria-label="step graph">
      <svg viewBox={`0 0 ${placed.width} ${placed.height}`} width={placed.width} height={placed.height} style={{ maxWidth: "100%", height: "auto" }}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" class="arrow" />
          </marker>
        </defs>
        {placed.edges.map((e) => (
          <polyline
            class="edge"
            points={e.points.map((p) => `${p.x},${p.y}`).join(" ")}
            marker-end="url(#arrow)"
          />
        ))}
        {placed.nodes.map(({ id, x, y }) => {
          const step = byId.get(id) ?? placed.nodes.find((n) => n.id === id)!.step;
          return (
            <g
              class={`node status-${step.status}${selected === id ? " selected" : ""}`}
              data-step={id}
              data-status={step.status}
              transform={`translate(${x - NODE_W / 2},${y - NODE_H / 2})`}
              tabIndex={0}
              role="button"
              aria-label={`step ${id}: ${label(step.status)}`}
              onClick={() => onSelect(selected === id ? null : id)}
              onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && onSelect(selected === id ? null : id)}
            >
              <rect width={NODE_W} height={NODE_H} rx={8} />
              <text x={10} y={18} class="node-name">
                {id.length > 18 ? id.slice(0, 17) + "…" : id}
              </text>
              <text x={10} y={34} class="node-status">
                {label(step.status)}
                {step.attempts > 1 ? ` · try ${step.attempts}` : ""}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
