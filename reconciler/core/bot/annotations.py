"""GitHub Actions workflow commands for load problems: `::error file=F,line=L,col=C,title=T::message`.

Values are escaped as the runner expects (`%`, CR, LF everywhere; `:` and `,` inside properties), so a message
cannot end the command early or inject another one.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.core.load import Problem, Severity


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(problem: Problem) -> str:
    level = "error" if problem.severity is Severity.ERROR else "warning"
    props = [f"file={_property(problem.file)}"]
    if problem.line > 0:
        props.append(f"line={problem.line}")
        if problem.column > 0:
            props.append(f"col={problem.column}")
    props.append(f"title={_property(problem.code)}")
    return f"::{level} {','.join(props)}::{_data(problem.message)}"


def workflow_commands(problems: Iterable[Problem]) -> str:
    return "".join(annotation(p) + "\n" for p in problems)
