"""The security tests' summary at the end of the run.

Three modules count what their tests tried (hostile uploads, injected job faults, races run
and anything a race lost) in module globals; this hook prints those counts after the run,
whatever order the tests ran in. A module that was not collected prints nothing; one whose
tests were deselected or skipped prints the zeros it counted.
"""

from __future__ import annotations

import sys


def _module(name: str):
    return sys.modules.get(f"tests.security.{name}")


def _uploads(module) -> list[str]:
    tried, outcomes, peak = module.TRIED, module.OUTCOMES, module.PEAK[0]
    lines = [
        f"hostile uploads: {sum(tried.values())} inputs tried ({outcomes['refused']} refused, "
        f"{outcomes['imported']} imported cleanly through scores_import); highest memory "
        f"peak {peak / 2**20:.1f} MB (limit {module.MEMORY_LIMIT / 2**20:.0f} MB)"
    ]
    lines += [f"  {n:4d}  {label}" for label, n in sorted(tried.items())]
    return lines


def _faults(module) -> list[str]:
    faults = module.FAULTS
    return [f"job faults injected: {len(faults)} ({', '.join(faults) or 'none'})"]


def _races(module) -> list[str]:
    run, lost = module.RUN, module.LOST
    return [f"races run: {sum(run.values())} ({dict(run)}); lost: {dict(lost) or 'nothing'}"]


def pytest_terminal_summary(terminalreporter):
    lines = []
    for name, summary in [
        ("test_uploads_hostile", _uploads),
        ("test_job_faults", _faults),
        ("test_races", _races),
    ]:
        module = _module(name)
        if module is not None:
            lines += summary(module)
    if lines:
        terminalreporter.write_sep("-", "security tests")
        for line in lines:
            terminalreporter.write_line(line)
