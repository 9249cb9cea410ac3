"""The drift report: a self-contained HTML page (images embedded) with a summary table of every
column and a histogram overlay (reference vs the day) for each flagged column; the same
overlays as PNG for Dagster's metadata, and the summary as a markdown table."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd

from platform_assets.monitoring.drift import (
    CATEGORICAL,
    OK,
    ReferenceStatistics,
    category_values,
    numeric_matrix,
)

SUMMARY_COLUMNS = [
    "column",
    "kind",
    "severity",
    "current_rows",
    "ks_statistic",
    "p_value",
    "wasserstein_normalised",
    "psi",
    "cohens_d",
    "jensen_shannon",
]
HISTOGRAM_BINS = 30


def overlay_png(reference: ReferenceStatistics, current: pd.DataFrame, column: str) -> bytes:
    """Reference vs current distribution of one column, as shares (so sizes do not matter)."""
    # A bare Figure needs no pyplot state or GUI backend; imported here so that loading the
    # code location does not pay for matplotlib.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.2))
    axis = figure.subplots()
    if column in reference.categorical_columns:
        j = reference.categorical_columns.index(column)
        levels, counts = np.unique(category_values(current[column]), return_counts=True)
        labels = sorted(set(reference.categories[j].astype(str)) | set(levels.astype(str)))
        ref_share = pd.Series(reference.category_counts[j], index=reference.categories[j])
        cur_share = pd.Series(counts, index=levels)
        ref_share = ref_share.reindex(labels, fill_value=0) / max(ref_share.sum(), 1)
        cur_share = cur_share.reindex(labels, fill_value=0) / max(cur_share.sum(), 1)
        positions = np.arange(len(labels))
        axis.bar(positions - 0.2, ref_share, width=0.4, label="reference")
        axis.bar(positions + 0.2, cur_share, width=0.4, label="day")
        axis.set_xticks(positions, labels, rotation=45, ha="right", fontsize=7)
    else:
        j = reference.numeric_columns.index(column)
        ref = reference.sorted_values[j]
        cur = numeric_matrix(current, [column])[:, 0]
        cur = cur[~np.isnan(cur)]
        both = np.concatenate([ref, cur])
        low, high = np.quantile(both, [0.005, 0.995]) if both.size else (0.0, 1.0)
        edges = np.linspace(low, high if high > low else low + 1, HISTOGRAM_BINS + 1)
        for values, label in ((ref, "reference"), (cur, "day")):
            weights = np.full(values.size, 1 / max(values.size, 1))
            axis.hist(np.clip(values, low, high), edges, weights=weights, alpha=0.5, label=label)
    axis.set_title(column)
    axis.set_ylabel("share of rows")
    axis.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def _format(value) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:.4g}"
    return "" if value is None or value is pd.NA else str(value)


def markdown_table(metrics: pd.DataFrame) -> str:
    columns = [c for c in SUMMARY_COLUMNS if c in metrics]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in metrics[columns].iterrows():
        lines.append("| " + " | ".join(_format(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def flagged_columns(metrics: pd.DataFrame) -> list[str]:
    return metrics.loc[metrics["severity"] != OK, "column"].tolist()


def html_report(
    title: str,
    metrics: pd.DataFrame,
    overlays: dict[str, bytes],
    facts: dict[str, str],
) -> str:
    """The whole report as one HTML document; images inline as data URIs."""
    colours = {"ok": "#e8f5e9", "warning": "#fff8e1", "critical": "#ffebee"}
    header = "".join(f"<th>{html.escape(c)}</th>" for c in [*SUMMARY_COLUMNS, "reason"])
    body = []
    for _, row in metrics.iterrows():
        cells = "".join(
            f"<td>{html.escape(_format(row.get(c)))}</td>" for c in [*SUMMARY_COLUMNS, "reason"]
        )
        body.append(f'<tr style="background:{colours.get(row["severity"], "#fff")}">{cells}</tr>')
    facts_html = "".join(
        f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>" for k, v in facts.items()
    )
    images = "".join(
        f"<h3>{html.escape(name)} ({html.escape(_severity(metrics, name))})</h3>"
        f'<img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}">'
        for name, png in overlays.items()
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><ul>{facts_html}</ul>"
        f"<h2>Summary</h2><table><tr>{header}</tr>{''.join(body)}</table>"
        f"<h2>Flagged columns</h2>{images or '<p>None: no column drifted.</p>'}"
        "</body></html>"
    )


def _severity(metrics: pd.DataFrame, column: str) -> str:
    return str(metrics.loc[metrics["column"] == column, "severity"].iloc[0])


def is_categorical(metrics: pd.DataFrame, column: str) -> bool:
    return bool((metrics.loc[metrics["column"] == column, "kind"] == CATEGORICAL).any())
