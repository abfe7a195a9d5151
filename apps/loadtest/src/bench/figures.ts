/**
 * The bench's table: every section adds its figures here, each with the baseline it is compared
 * to in the same run and the goal it is held to; `markdown()` renders them for the README.
 */
import { cpus, totalmem } from "node:os";

/** One measured figure, with the baseline it is compared to and the goal it is held to. */
export interface Figure {
  section: string;
  figure: string;
  value: number;
  unit: string;
  baseline?: { what: string; value: number; unit: string };
  ratio?: number;
  goal?: string;
  met?: boolean;
  note?: string;
}

export const figures: Figure[] = [];
export const log = (line: string): void => console.error(`[bench] ${line}`);
export const round = (n: number, digits = n < 10 ? 2 : n < 100 ? 1 : 0): number => Number(n.toFixed(digits));

export function add(f: Figure): void {
  figures.push(f);
  const ratio = f.ratio !== undefined ? `  ×${f.ratio.toFixed(2)} of ${f.baseline!.what}` : "";
  log(`${f.figure}: ${round(f.value)} ${f.unit}${ratio}${f.met === undefined ? "" : f.met ? "  ✓" : "  ✗"}`);
}

export function markdown(): string {
  const lines = [
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${new Date().toISOString().slice(0, 16)}Z.`,
    "",
    "| figure | value | baseline (same run) | ratio | goal | met |",
    "|---|---|---|---|---|---|",
  ];
  for (const f of figures) {
    const baseline = f.baseline ? `${f.baseline.what}: ${round(f.baseline.value)} ${f.baseline.unit}` : "";
    const met = f.met === undefined ? "" : f.met ? "yes" : "**no**";
    lines.push(`| ${f.figure}${f.note ? ` <br><sub>${f.note}</sub>` : ""} | ${round(f.value)} ${f.unit} | ${baseline} | ${f.ratio !== undefined ? `×${f.ratio.toFixed(2)}` : ""} | ${f.goal ?? ""} | ${met} |`);
  }
  return `${lines.join("\n")}\n`;
}
