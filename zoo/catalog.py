"""Render `docs/models.md`, the model catalogue, from the registry (`make docs`)."""

from __future__ import annotations

import importlib
import inspect

from zoo.registry import describe, families, get_spec, list_models


def render_catalog() -> str:
    """The whole catalogue as Markdown."""
    lines = [
        "# Model catalogue",
        "",
        "Generated from the registry by `make docs` (`python -m zoo.catalog`); a test fails when it is stale.",
        "Every model builds for the tasks listed, as `zoo.build(name, input_shape=..., task=..., num_outputs=...)`.",
        "",
        "| model | family | tasks | inputs | variable length | padding masked | cuDNN | summary |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = list_models()
    for n in names:
        i = describe(n)
        cudnn = "n/a" if i.cudnn_fast_path is None else ("yes" if i.cudnn_fast_path else "no")
        lines.append(
            f"| [`{n}`](#{n}) | {i.family} | {', '.join(i.tasks)} | {', '.join(i.inputs)} | "
            f"{'yes' if i.variable_length else 'no'} | {'yes' if i.masking else 'no'} | {cudnn} | {i.summary} |"
        )
    for family in families():
        lines += ["", f"## Family `{family}`"]
        module = importlib.import_module(get_spec(list_models(family=family)[0]).builder.__module__)
        lines += ["", inspect.cleandoc(module.__doc__ or "")]
        for n in list_models(family=family):
            i = describe(n)
            lines += ["", f"### {n}", "", i.summary, "", f"*Reference:* {i.reference}", ""]
            doc = i.doc.split("\n\nReference:")[0].strip()
            if doc and doc != i.summary:
                lines += [doc, ""]
            lines += [f"Minimum sequence length with defaults: {i.min_length}.", ""]
            lines += ["| hyperparameter | default | search space | valid | doc |", "|---|---|---|---|---|"]
            for pname, p in {**i.search_space, **i.fixed}.items():
                lines.append(f"| `{pname}` | `{p['default']!r}` | {p['search']} | {p['valid']} | {p['doc']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_catalog(), end="")
