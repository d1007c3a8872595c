"""Layer 5: what a view of a run shows, as plain data computed once over a `RunState`.

The canvas (elements, positions, stylesheet, legend), the gate cards, the derivation drawer and
the Run Information panel, as dicts and HTML strings. The notebook widgets (`widgets/`) and the
JupyterLab run panel (served by `server/`) only draw them, so both show the same run the same
way. Nothing here imports Jupyter or ipywidgets.
"""
