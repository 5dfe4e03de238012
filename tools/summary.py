"""The short human summary `make sandbox` prints: the dns_zone report, the cutover's report, the recaps, and last the
launch report's verdict and path (``--report DIR``: its launch-report.json)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


# Every role's closing "Report ..." task, and the cutover's reports.
REPORTS = ("TASK [Report the TTLs", "TASK [Show each server's state", "TASK [Say the launch's verdict")


def is_report(line: str) -> bool:
    return line.startswith(REPORTS) or (line.startswith("TASK [directfanz.launch.") and " : Report" in line)


def summary(log: str) -> list[str]:
    lines = log.splitlines()
    out = [line for line in lines if line.startswith("dns_propagation ")]
    for i, line in enumerate(lines):
        if is_report(line):
            for body in lines[i + 1:]:
                if not body.strip():
                    break
                m = re.match(r"^\s+-\s+'?(.*?)'?$", body)
                if m:
                    out.append(m.group(1).replace("''", "'"))
                elif out and body.startswith("        "):
                    out[-1] += " " + body.strip().rstrip("'")
    # the stage_times callback's table (make sandbox enables it): each play's seconds
    if any(line.startswith("STAGE TIMES") for line in lines):
        at = max(i for i, line in enumerate(lines) if line.startswith("STAGE TIMES"))
        out += ["stage " + line.strip() for line in lines[at + 1:] if re.match(r"^\s*\d+\.\d s ", line)]
    recap = [line for line in lines if re.match(r"^launch_controller\s+:", line)]
    return out + [("Recap: " + re.sub(r"\s+", " ", recap[-1].split(":", 1)[1]).strip()) if recap
                  else "Recap: the run did not finish"]


def verdict(report_dir: Path) -> list[str]:
    """The launch report's last word: its verdict, what blocks it, and where its page is."""
    data = report_dir / "launch-report.json"
    if not data.exists():
        return ["Launch report: none written (%s) - the validate phase did not run" % data]
    report = json.loads(data.read_text())
    lines = ["Launch report (%s-cutover): %s - %s" % (report.get("stage"), report["verdict"], ", ".join(
        "%s %s" % (n, k) for k, n in sorted(report.get("summary", {}).items())))]
    failing = [c["id"] for c in report["criteria"] if c["status"] in ("FAIL", "NOT RUN") and c.get("blocking", True)
               and not (report.get("stage") == "pre" and c.get("stage") == "post")]
    if failing:
        lines.append("  not proven: " + ", ".join(failing))
    for earlier in report.get("earlier") or []:
        lines.append("  carries the %s-cutover validation: %s (%s)"
                     % (earlier.get("stage"), earlier.get("verdict"), earlier.get("generated")))
    lines.append("  %s" % (report_dir / "launch-report.html").resolve())
    lines.append(report["verdict"])
    return lines


def main() -> int:
    args = sys.argv[1:]
    report = None
    if "--report" in args:
        i = args.index("--report")
        report, args = Path(args[i + 1]), args[:i] + args[i + 2:]
    print("\n==== sandbox launch summary ====")
    for name in args:
        path = Path(name)
        if path.exists():
            print("-- %s" % {"cutover": "the nameserver cutover", "launch": "the one-command launch"}.get(
                path.stem, path.stem))
            for line in summary(path.read_text()):
                print(line)
    if report is not None:
        for line in verdict(report):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
