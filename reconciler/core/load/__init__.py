"""Loading desired state: safe YAML with positions, schema validation, cross-document rules, secret scanning.

from reconciler.core.load import load_tree
result = load_tree(tree)          # tree: SourceTree from reconciler.shells.tree
result.spec                       # FleetSpec, or None when any error was found
result.problems                   # every Problem, sorted by file, line, column
"""

from reconciler.core.load.documents import validate as validate_document
from reconciler.core.load.loader import LoadResult, load_tree
from reconciler.core.load.problems import Position, Problem, Severity
from reconciler.core.load.source import MAX_FILE_BYTES, ROOTS, SourceFile, SourceTree, is_desired_state_path
from reconciler.core.load.yamldoc import parse as parse_yaml

__all__ = [
    "MAX_FILE_BYTES",
    "ROOTS",
    "LoadResult",
    "Position",
    "Problem",
    "Severity",
    "SourceFile",
    "SourceTree",
    "is_desired_state_path",
    "load_tree",
    "parse_yaml",
    "validate_document",
]
