"""Layer 1: templates as pure data (nodes, gates, validation, YAML, fingerprint)."""

from .errors import TemplateError
from .nodes import Gate, Node, OutputNode, PythonNode, SourceNode, SqlNode
from .template import Template, install_engine
from .yaml_io import load_template

__all__ = [
    "Gate",
    "Node",
    "OutputNode",
    "PythonNode",
    "SourceNode",
    "SqlNode",
    "Template",
    "TemplateError",
    "install_engine",
    "load_template",
]
