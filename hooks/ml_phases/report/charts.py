"""The report's charts as Vega-Lite specs: plain data, drawn in the browser by vega-embed.

Vega-Lite because a spec is data: it is built and tested here in Python, it is small (the figures
themselves, not drawn shapes), and the page gets tooltips, links on marks (the `href` channel
goes to the ADR the figure comes from) and SVG/PNG export from one well-kept library. Each
function takes the figures as rows and returns one spec.
"""

from __future__ import annotations

import math
from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # names the version; never fetched
WIDTH = 560
ROW = 22  # pixels per row of a horizontal chart
STATUS_COLOURS = {
    "done": "#2e7d32",
    "awaiting_approval": "#f9a825",
    "running": "#1565c0",
    "incomplete": "#ef6c00",
    "failed": "#c62828",
    "pending": "#9e9e9e",
}
MARKED, OTHER, BASELINE = "#c2185b", "#5c6bc0", "#757575"

Spec = dict[str, Any]


def finite(value: Any) -> Any:
    """The spec with every NaN or infinity (a failed fold, a hand-edited record) as null: JSON
    has neither, the page's JSON.parse would refuse them and no chart would draw, while
    Vega-Lite leaves a null out of its chart."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def _chart(rows: list[dict[str, Any]], height: int, **spec: Any) -> Spec:
    return {
        "$schema": SCHEMA,
        "width": WIDTH,
        "height": height,
        "data": {"values": rows},
        "config": {"axis": {"labelLimit": 220}, "legend": {"orient": "bottom"}},
        **spec,
    }


def _tooltip(*fields: tuple[str, str] | tuple[str, str, str]) -> list[dict[str, str]]:
    """Tooltip entries from (field, title) or (field, title, number format)."""
    tips = []
    for field, title, *fmt in fields:
        tip = {"field": field, "title": title}
        if fmt:
            tip |= {"type": "quantitative", "format": fmt[0]}
        tips.append(tip)
    return tips


def timeline(rows: list[dict[str, Any]]) -> Spec:
    """The phases that ran, end to end in their order: where the time went, and their status.

    rows: phase, status, start and end (seconds of phase time, the gate's wait excluded),
    seconds, cost_usd, decided (who), href."""
    domain = [status for status in STATUS_COLOURS if any(r["status"] == status for r in rows)]
    return _chart(
        rows,
        ROW * max(len(rows), 1),
        mark={"type": "bar", "cursor": "pointer"},
        encoding={
            "y": {"field": "phase", "type": "ordinal", "sort": None, "title": None},
            "x": {
                "field": "start",
                "type": "quantitative",
                "title": "seconds of phase time, one phase after another",
            },
            "x2": {"field": "end"},
            "color": {
                "field": "status",
                "type": "nominal",
                "scale": {"domain": domain, "range": [STATUS_COLOURS[s] for s in domain]},
                "title": "status",
            },
            "href": {"field": "href"},
            "tooltip": _tooltip(
                ("phase", "phase"),
                ("status", "status"),
                ("seconds", "seconds", ".1f"),
                ("cost_usd", "cost USD", ".4f"),
                ("decided", "decided by"),
            ),
        },
    )


def bakeoff(rows: list[dict[str, Any]], folds: list[dict[str, Any]], metric: str) -> Spec:
    """Each candidate's cross-validated mean with a one-standard-deviation bar and its fold
    scores as ticks; the chosen one marked.

    rows: candidate, mean, low, high, std, marked ('chosen' or 'candidate'), href;
    folds: candidate, score."""
    y = {"field": "candidate", "type": "nominal", "sort": None, "title": None}
    x_title = f"{metric}: mean ± 1 standard deviation over the folds (ticks: each fold)"
    return _chart(
        rows,
        ROW * 2 * max(len(rows), 1),
        layer=[
            {
                "data": {"values": folds},
                "mark": {"type": "tick", "opacity": 0.45, "color": BASELINE},
                "encoding": {
                    "y": y,
                    "x": {"field": "score", "type": "quantitative", "scale": {"zero": False}},
                },
            },
            {
                "mark": {"type": "rule", "strokeWidth": 2},
                "encoding": {
                    "y": y,
                    "x": {"field": "low", "type": "quantitative", "title": x_title},
                    "x2": {"field": "high"},
                    "color": _marked(),
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 110, "cursor": "pointer"},
                "encoding": {
                    "y": y,
                    "x": {"field": "mean", "type": "quantitative"},
                    "color": _marked(),
                    "shape": {"field": "marked", "type": "nominal", "legend": None},
                    "href": {"field": "href"},
                    "tooltip": _tooltip(
                        ("candidate", "candidate"),
                        ("mean", f"mean {metric}", ".4f"),
                        ("std", "standard deviation", ".4f"),
                        ("marked", "chosen"),
                    ),
                },
            },
        ],
    )


def _marked() -> dict[str, Any]:
    return {
        "field": "marked",
        "type": "nominal",
        "scale": {"domain": ["chosen", "candidate"], "range": [MARKED, OTHER]},
        "title": None,
    }


def held_out(rows: list[dict[str, Any]]) -> Spec:
    """Each held-out metric with its bootstrap interval, beside the baseline's value; one row
    per metric, each on its own scale.

    rows: metric, value, low, high, baseline, href."""
    y = {"field": "metric", "type": "nominal", "title": None, "axis": {"labels": False}}
    series = {
        "type": "nominal",
        "scale": {"domain": ["model", "baseline"], "range": [MARKED, BASELINE]},
        "title": None,
    }
    tips = _tooltip(
        ("metric", "metric"),
        ("value", "model", ".4f"),
        ("low", "interval from", ".4f"),
        ("high", "interval to", ".4f"),
        ("baseline", "baseline", ".4f"),
    )
    layers = [
        {
            "mark": {"type": "rule", "strokeWidth": 2, "color": MARKED},
            "encoding": {
                "y": y,
                "x": {"field": "low", "type": "quantitative", "scale": {"zero": False}},
                "x2": {"field": "high"},
            },
        },
        {
            "mark": {"type": "point", "filled": True, "size": 100, "cursor": "pointer"},
            "encoding": {
                "y": y,
                "x": {"field": "value", "type": "quantitative", "title": None},
                "color": {"datum": "model", **series},
                "href": {"field": "href"},
                "tooltip": tips,
            },
        },
        {
            "mark": {"type": "point", "shape": "diamond", "filled": True, "size": 100},
            "encoding": {
                "y": y,
                "x": {"field": "baseline", "type": "quantitative"},
                "color": {"datum": "baseline", **series},
                "tooltip": tips,
            },
        },
    ]
    return {
        "$schema": SCHEMA,
        "data": {"values": rows},
        "facet": {
            "row": {
                "field": "metric",
                "type": "nominal",
                "sort": [row["metric"] for row in rows],  # as evaluate lists them
                "title": None,
                "header": {"labelAngle": 0, "labelAlign": "left", "labelFontWeight": "bold"},
            }
        },
        "spec": {"width": WIDTH - 100, "height": ROW, "layer": layers},
        "resolve": {"scale": {"x": "independent"}},
        "config": {"legend": {"orient": "bottom"}},
    }


def latency(rows: list[dict[str, Any]], budget_ms: float | None) -> Spec:
    """The service's p50, p95 and p99 for one request at each concurrency, against the budget.

    rows: level, statistic, ms, href."""
    layers: list[Spec] = [
        {
            "mark": {"type": "bar", "cursor": "pointer"},
            "encoding": {
                "y": {"field": "level", "type": "nominal", "title": None, "sort": None},
                "yOffset": {"field": "statistic", "sort": None},
                "x": {"field": "ms", "type": "quantitative", "title": "milliseconds per request"},
                "color": {"field": "statistic", "type": "nominal", "sort": None, "title": None},
                "href": {"field": "href"},
                "tooltip": _tooltip(
                    ("level", "load"), ("statistic", "statistic"), ("ms", "ms", ".2f")
                ),
            },
        }
    ]
    if budget_ms is not None:
        layers.append(_threshold(budget_ms, f"budget {budget_ms:g} ms", MARKED))
    return _chart(rows, ROW * 3 * max(len({r["level"] for r in rows}), 1), layer=layers)


def drift(rows: list[dict[str, Any]], threshold: float, floor: float | None) -> Spec:
    """The features whose distribution moved most between training and validation (PSI),
    against the alert threshold and the noise floor.

    rows: feature, psi, p_value, drifts ('drifts' or 'steady'), href."""
    layers: list[Spec] = [
        {
            "mark": {"type": "bar", "cursor": "pointer"},
            "encoding": {
                "y": {"field": "feature", "type": "nominal", "sort": "-x", "title": None},
                "x": {
                    "field": "psi",
                    "type": "quantitative",
                    "title": "PSI, validation against training",
                },
                "color": {
                    "field": "drifts",
                    "type": "nominal",
                    "scale": {"domain": ["drifts", "steady"], "range": [MARKED, OTHER]},
                    "title": None,
                },
                "href": {"field": "href"},
                "tooltip": _tooltip(
                    ("feature", "feature"), ("psi", "PSI", ".3f"), ("p_value", "p-value", ".3g")
                ),
            },
        },
        _threshold(threshold, f"alert threshold {threshold:g}", MARKED),
    ]
    if floor is not None:
        layers.append(_threshold(floor, f"noise floor {floor:.3f}", BASELINE))
    return _chart(rows, ROW * max(len(rows), 1), layer=layers)


def _threshold(value: float, label: str, colour: str) -> Spec:
    """A vertical dashed rule at `value`, named in the legend."""
    return {
        "data": {"values": [{"value": value, "line": label}]},
        "mark": {"type": "rule", "strokeDash": [6, 4], "strokeWidth": 2},
        "encoding": {
            "x": {"field": "value", "type": "quantitative"},
            "strokeDash": {"field": "line", "type": "nominal", "title": None},
            "color": {"value": colour},
            "tooltip": [{"field": "line", "title": "line"}],
        },
    }
