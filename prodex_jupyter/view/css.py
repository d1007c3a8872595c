"""The run view's CSS, scoped under `.prodex-run-view`, built on JupyterLab's theme variables so
it reads in light and dark themes alike. The classes are those of the HTML `view` computes; the
notebook ships it in a `<style>` element, the JupyterLab run panel in its own style sheet."""

from __future__ import annotations

# Every view's colours: each tone a (text, tint) pair, and muted text, chosen per theme so every
# text reads at 4.5:1 or more (WCAG AA) on its tint and on the theme's layout colours
# (JupyterLab's own secondary text colour, --jp-ui-font-color2, does not on --jp-layout-color2).
# JupyterLab and Notebook 7 mark a dark theme with body[data-jp-theme-light="false"].
VIEWS = ".prodex-run-view, .prodex-runs-list, .prodex-compare"
PALETTE = f"""
{VIEWS} {{
  --prodex-green: #166534; --prodex-green-bg: #dcfce7;
  --prodex-amber: #92400e; --prodex-amber-bg: #fef3c7;
  --prodex-red: #991b1b; --prodex-red-bg: #fee2e2;
  --prodex-blue: #1e40af; --prodex-blue-bg: #dbeafe;
  --prodex-grey: #334155; --prodex-grey-bg: #e2e8f0;
  --prodex-violet: #5b21b6; --prodex-violet-bg: #ede9fe;
  --prodex-muted: #475569;
}}
{", ".join(f'body[data-jp-theme-light="false"] {v.strip()}' for v in VIEWS.split(","))} {{
  --prodex-green: #86efac; --prodex-green-bg: #14532d;
  --prodex-amber: #fcd34d; --prodex-amber-bg: #451a03;
  --prodex-red: #fca5a5; --prodex-red-bg: #450a0a;
  --prodex-blue: #93c5fd; --prodex-blue-bg: #172554;
  --prodex-grey: #cbd5e1; --prodex-grey-bg: #334155;
  --prodex-violet: #c4b5fd; --prodex-violet-bg: #2e1065;
  --prodex-muted: #cbd5e1;
}}
/* ipywidgets' button styles take the theme's status colours, some under 4.5:1 with white. */
{", ".join(f"{v.strip()} .jupyter-button.mod-success" for v in VIEWS.split(","))}
  {{ background-color: #166534; color: #ffffff; }}
{", ".join(f"{v.strip()} .jupyter-button.mod-danger" for v in VIEWS.split(","))}
  {{ background-color: #991b1b; color: #ffffff; }}
{", ".join(f"{v.strip()} .jupyter-button.mod-warning" for v in VIEWS.split(","))}
  {{ background-color: #92400e; color: #ffffff; }}
{", ".join(f"{v.strip()} .jupyter-button.mod-info" for v in VIEWS.split(","))}
  {{ background-color: #1e40af; color: #ffffff; }}
"""

CSS = """
.prodex-run-view {
  --prodex-radius: 8px;
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1);
  gap: 10px;
  width: 100%;
  box-sizing: border-box;
}
.prodex-run-view .prodex-style { display: none; }
.prodex-run-view .widget-html-content, .prodex-run-view .widget-html {
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1, 13px);
  line-height: 1.45;
}
.prodex-run-view .widget-html { margin: 0; min-width: 0; max-width: 100%; }
.prodex-run-view .widget-html > .widget-html-content { max-width: 100%; min-width: 0; }
.prodex-drawer-body, .prodex-gate-card .widget-html { width: 100%; overflow-x: auto; }
.prodex-header .widget-html-content { line-height: 1.3; }
.prodex-title { font-size: 15px; font-weight: 600; }
.prodex-subtitle { color: var(--prodex-muted); font-size: 12px; margin-left: 8px; }
.prodex-top { gap: 12px; align-items: stretch; width: 100%; flex-wrap: wrap; }
.prodex-top > .prodex-canvas-panel { flex: 1 1 720px; min-width: 0; }
/* Under 992 px the canvas keeps the whole width (labels at a readable zoom) and the Run
   Information panel goes below it, as wide as the view. */
.prodex-run-view { container-type: inline-size; }
@container (max-width: 992px) {
  .prodex-top > .prodex-run-info { flex: 1 1 100%; width: auto; }
}
.prodex-canvas-panel {
  border: 1px solid var(--jp-border-color2); border-radius: var(--prodex-radius);
  overflow: hidden; background: var(--jp-layout-color0);
}
.prodex-canvas-toolbar {
  padding: 6px 8px; gap: 2px; border-bottom: 1px solid var(--jp-border-color2);
  background: var(--jp-layout-color1);
}
.prodex-canvas-toolbar .prodex-tool {
  font-size: 12px; border-radius: 6px; padding: 0 10px;
  background: var(--jp-layout-color0); border: 1px solid var(--jp-border-color2);
}
.prodex-canvas-toolbar .prodex-tool:hover:enabled { background: var(--jp-layout-color2); }
.prodex-legend { margin-left: auto; }
.prodex-search input { font-size: 12px; }
.prodex-hover-line { font-size: 12px; color: var(--jp-ui-font-color1); margin: 0 6px; }
.prodex-hover-name { font-family: var(--jp-code-font-family); font-weight: 600; }
.prodex-legend-row { display: flex; flex-wrap: wrap; gap: 12px; align-items: center;
  color: var(--prodex-muted); font-size: 11.5px; padding-right: 4px; }
.prodex-legend-item { display: inline-flex; align-items: center; gap: 5px; white-space: nowrap; }
.prodex-swatch { display: inline-block; width: 18px; height: 11px; border: 1.5px solid; }
.prodex-run-view .prodex-canvas.custom-widget { background: var(--jp-layout-color0);
  resize: none; border: none; flex: 0 0 auto; }
.prodex-run-view .prodex-canvas.custom-widget:hover { border: none; }

.prodex-chip {
  display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px;
  font-weight: 600; line-height: 18px; white-space: nowrap; vertical-align: middle;
}
.prodex-chip-grey { color: var(--prodex-grey); background: var(--prodex-grey-bg); }
.prodex-chip-blue { color: var(--prodex-blue); background: var(--prodex-blue-bg); }
.prodex-chip-green { color: var(--prodex-green); background: var(--prodex-green-bg); }
.prodex-chip-amber { color: var(--prodex-amber); background: var(--prodex-amber-bg); }
.prodex-chip-red { color: var(--prodex-red); background: var(--prodex-red-bg); }
.prodex-chip-violet { color: var(--prodex-violet); background: var(--prodex-violet-bg); }

.prodex-run-info {
  flex: 0 0 260px; width: 260px; border: 1px solid var(--jp-border-color2);
  border-radius: var(--prodex-radius); padding: 12px 14px; background: var(--jp-layout-color1);
  box-sizing: border-box; gap: 0;
}
.prodex-panel-title { font-size: 11px; font-weight: 700; letter-spacing: .06em;
  text-transform: uppercase; color: var(--prodex-muted); margin-bottom: 8px; }
.prodex-row { padding: 2px 0; color: var(--jp-ui-font-color1); }
.prodex-row b { font-weight: 600; font-variant-numeric: tabular-nums; }
.prodex-ids { margin-top: 8px; border-top: 1px solid var(--jp-border-color2); padding-top: 8px;
  color: var(--prodex-muted); font-size: 12px; word-break: break-all; }
.prodex-status-line { display: flex; align-items: center; gap: 8px; flex-wrap: wrap;
  padding-bottom: 6px; }
.prodex-status-note { color: var(--prodex-muted); font-size: 12px; }
.prodex-progress { height: 6px; border-radius: 3px; background: var(--jp-layout-color3);
  overflow: hidden; margin: 2px 0 6px; }
.prodex-progress { display: flex; }
.prodex-progress > span { display: block; height: 100%; }
.prodex-progress-confirmed { background: var(--prodex-green); }
.prodex-progress-rejected { background: var(--prodex-red); }
.prodex-rejected-count { color: var(--prodex-red); }
.prodex-deleted { padding: 8px 12px; border-radius: 6px; background: var(--prodex-red-bg);
  color: var(--prodex-red); font-weight: 600; }
.prodex-input-node { font-weight: 600; }
.prodex-inputs { margin-top: 8px; border-top: 1px solid var(--jp-border-color2);
  padding-top: 8px; }
.prodex-input { padding: 3px 0; }
.prodex-input-name { font-weight: 600; word-break: break-all; }
.prodex-input-meta { color: var(--prodex-muted); font-size: 12px; }
.prodex-mono { font-family: var(--jp-code-font-family); font-size: 11.5px; }

.prodex-gate-cards { gap: 10px; width: 100%; }
.prodex-section-title { font-size: 13px; font-weight: 600; margin: 4px 0 0; }
.prodex-section-note { color: var(--prodex-muted); font-size: 12px; }
.prodex-gate-card {
  border: 1px solid var(--jp-border-color2); border-left: 4px solid var(--prodex-amber);
  border-radius: var(--prodex-radius); padding: 12px 14px; gap: 8px;
  background: var(--jp-layout-color0); box-shadow: 0 1px 2px rgba(15, 23, 42, .06);
  width: 100%; box-sizing: border-box;
}
.prodex-gate-card.prodex-decided { padding: 8px 14px; box-shadow: none;
  background: var(--jp-layout-color1); }
.prodex-gate-card.prodex-decided-confirmed { border-left-color: var(--prodex-green); }
.prodex-gate-card.prodex-decided-rejected { border-left-color: var(--prodex-red); }
.prodex-card-head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.prodex-card-name { font-size: 14px; font-weight: 600; }
.prodex-card-node { color: var(--prodex-muted); font-size: 12px; }
.prodex-card-desc { color: var(--prodex-muted); margin-top: 4px; }
.prodex-summary { margin-top: 8px; padding: 8px 10px; border-radius: 6px;
  background: var(--jp-layout-color1); border: 1px solid var(--jp-border-color2); }
.prodex-checks { margin: 8px 0 0; padding: 0; list-style: none; }
.prodex-checks li { display: flex; gap: 8px; align-items: baseline; padding: 2px 0; }
.prodex-check-icon { flex: 0 0 auto; width: 44px; text-align: center; font-size: 10.5px;
  font-weight: 700; border-radius: 4px; padding: 0 4px; text-transform: uppercase; }
.prodex-check-pass { color: var(--prodex-green); background: var(--prodex-green-bg); }
.prodex-check-fail { color: var(--prodex-red); background: var(--prodex-red-bg); }
.prodex-check-warn, .prodex-check-manual { color: var(--prodex-amber);
  background: var(--prodex-amber-bg); }
.prodex-check-skipped { color: var(--prodex-grey); background: var(--prodex-grey-bg); }
.prodex-check-fig { color: var(--prodex-muted); font-size: 12px; }
.prodex-run-view details { margin-top: 8px; }
.prodex-run-view summary { cursor: pointer; color: var(--jp-ui-font-color1); font-weight: 600;
  font-size: 12.5px; }
.prodex-table-wrap { overflow-x: auto; max-width: 100%; margin-top: 6px; }
table.prodex-table { border-collapse: collapse; font-size: 12px;
  font-family: var(--jp-code-font-family); }
table.prodex-table th, table.prodex-table td { border-bottom: 1px solid var(--jp-border-color2);
  padding: 3px 10px; text-align: left; white-space: nowrap; }
table.prodex-table th { font-family: var(--jp-ui-font-family); font-weight: 600;
  color: var(--prodex-muted); background: var(--jp-layout-color1); }
table.prodex-table td.prodex-num { text-align: right; }
.prodex-warnings { margin: 6px 0 0; padding-left: 18px; color: var(--prodex-amber); }
.prodex-drift-warn { color: var(--prodex-red); font-weight: 600; }
.prodex-card-buttons { gap: 8px; align-items: center; }
.prodex-card-buttons .jupyter-button { flex: 0 0 auto; }
.prodex-batch-gate > .jupyter-button { align-self: flex-start; flex: 0 0 auto; }
.prodex-gate-card .jupyter-button, .prodex-drawer .jupyter-button,
.prodex-show-decided { border-radius: 6px; font-weight: 600; }
.prodex-note-form { gap: 6px; width: 100%; }
.prodex-note-form textarea { font-family: var(--jp-ui-font-family); font-size: 13px; }
.prodex-error { color: var(--prodex-red); font-weight: 600; }
.prodex-decision { color: var(--prodex-muted); }
.prodex-decision b { color: var(--jp-ui-font-color1); }
.prodex-decided-row { align-items: center; gap: 10px; width: 100%; }
.prodex-decided-row .jupyter-button { flex: 0 0 auto; border-radius: 6px; font-weight: 600; }
.prodex-batch-gate { border-top: 1px solid var(--jp-border-color2); padding-top: 8px; gap: 6px; }

.prodex-drawer {
  border: 1px solid var(--jp-border-color2); border-left: 4px solid var(--prodex-blue);
  border-radius: var(--prodex-radius); padding: 12px 16px; gap: 6px;
  background: var(--jp-layout-color0); width: 100%; box-sizing: border-box;
}
.prodex-drawer-head { align-items: center; gap: 8px; }
.prodex-drawer h4 { margin: 12px 0 4px; font-size: 11px; font-weight: 700;
  letter-spacing: .06em; text-transform: uppercase; color: var(--prodex-muted); }
.prodex-value-scalar { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.prodex-why { padding: 10px 12px; border-radius: 6px; background: var(--prodex-amber-bg);
  color: var(--prodex-amber); font-weight: 600; }
.prodex-why.prodex-why-failed { background: var(--prodex-red-bg); color: var(--prodex-red); }
.prodex-code { border: 1px solid var(--jp-border-color2); border-radius: 6px; overflow-x: auto;
  background: var(--jp-layout-color0, #ffffff);
  color: var(--jp-content-font-color1, #1f2937); }
.prodex-code pre { margin: 0; padding: 8px 12px; font-family: var(--jp-code-font-family);
  font-size: 12.5px; line-height: 1.5; background: transparent !important; color: inherit; }
.prodex-explanation { font-size: 13px; }
.prodex-sources td, .prodex-sources th { white-space: nowrap; }
.prodex-traceback { white-space: pre-wrap; font-family: var(--jp-code-font-family);
  font-size: 11.5px; }
"""


def _tokens(classes: str, declaration: str) -> str:
    selector = ", ".join(f".prodex-hl .{c}" for c in classes.split())
    return f"{selector} {{ {declaration} }}"


# pygments' token classes in the colours JupyterLab's code editor uses in the current theme (the
# --jp-mirror-editor-* variables, as nbconvert's lab template maps them); the fallbacks are the
# light theme's, for front ends without JupyterLab's variables.
CODE_CSS = "\n".join(
    _tokens(classes, declaration)
    for classes, declaration in (
        (
            "k kc kd kn kp kr ow",
            "color: var(--jp-mirror-editor-keyword-color, #008000); font-weight: bold;",
        ),
        ("kt", "color: var(--jp-mirror-editor-variable-3-color, #085);"),
        (
            "s s1 s2 sa sb sc sd se sh si sx sr ss dl",
            "color: var(--jp-mirror-editor-string-color, #ba2121);",
        ),
        ("m mb mf mh mi mo il", "color: var(--jp-mirror-editor-number-color, #080);"),
        (
            "c c1 cm cp cs ch cpf",
            "color: var(--jp-mirror-editor-comment-color, #408080); font-style: italic;",
        ),
        ("o", "color: var(--jp-mirror-editor-operator-color, #a2f); font-weight: bold;"),
        ("p", "color: var(--jp-mirror-editor-punctuation-color, #05a);"),
        ("nb bp", "color: var(--jp-mirror-editor-builtin-color, #008000);"),
        ("nf fm nc", "color: var(--jp-mirror-editor-def-color, #00f);"),
        ("nd", "color: var(--jp-mirror-editor-meta-color, #a2f);"),
        ("n nv vc vg vi nx", "color: var(--jp-mirror-editor-variable-color, inherit);"),
        ("err", "color: var(--jp-mirror-editor-error-color, #f00);"),
    )
)


# One rule per canvas height (see `canvas.HEIGHT_STEP`): the height must hold from the
# first frame, before the widget's own Layout applies.
HEIGHTS = "\n".join(
    f".prodex-run-view .prodex-canvas.prodex-h-{h} {{ height: {h}px !important; }}"
    for h in range(200, 521, 20)
)


def run_view_css() -> str:
    """The whole stylesheet: layout and colours, code tokens, canvas heights."""
    return f"{PALETTE}\n{CSS}\n{CODE_CSS}\n{HEIGHTS}"
