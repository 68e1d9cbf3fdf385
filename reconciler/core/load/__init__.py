"""Loading desired state: safe YAML with positions, schema validation, cross-document rules, secret scanning.

from reconciler.core.load import load_tree
result = load_tree(tree)          # tree: SourceTree from reconciler.shells.tree
result.spec                       # FleetSpec, or None when any error was found
result.problems                   # every Problem, sorted by file, line, column

One document, read and validated exactly as the loader does (the guardrail and the round-trip editors use this,
so what they approve is what gets applied):
doc = read_document(path, text)   # YamlDocument (plain data + positions) or a Problem
spec = validate_document(doc, "Zone")   # the typed document, or its positioned problems

Round-trip edits (comments and formatting kept) that cannot change what a file means to the loader:
editor = round_trip_yaml(text)    # ruamel.yaml, keeping the author's formatting
tree = round_trip_load(path, editor, text, doc.data)   # the round-trip tree, aligned with the loader's reading
tree[key] = written(value)        # a new value, in a form the loader reads back as that value
text, zone = write(path, "Zone", editor, tree, intended)   # text that means `intended`, or EditRefused
"""

from reconciler.core.load.documents import validate as validate_document
from reconciler.core.load.loader import LoadResult, load_tree
from reconciler.core.load.problems import Position, Problem, Severity
from reconciler.core.load.roundtrip import (
    EditRefused,
    rejected,
    round_trip_dump,
    round_trip_load,
    round_trip_yaml,
    write,
    written,
)
from reconciler.core.load.source import (
    MAX_FILE_BYTES,
    ROOTS,
    SourceFile,
    SourceTree,
    is_desired_state_path,
    not_a_file,
)
from reconciler.core.load.yamldoc import YamlDocument, read_document

__all__ = [
    "MAX_FILE_BYTES",
    "ROOTS",
    "EditRefused",
    "LoadResult",
    "Position",
    "Problem",
    "Severity",
    "SourceFile",
    "SourceTree",
    "YamlDocument",
    "is_desired_state_path",
    "load_tree",
    "not_a_file",
    "read_document",
    "rejected",
    "round_trip_dump",
    "round_trip_load",
    "round_trip_yaml",
    "validate_document",
    "write",
    "written",
]
