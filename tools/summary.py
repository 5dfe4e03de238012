"""The short human summary `make sandbox` prints: the dns_zone report, the cutover's report, and the recaps."""

from __future__ import annotations

import re
import sys
from pathlib import Path


# Every role's closing "Report ..." task, and the cutover's reports.
REPORTS = ("TASK [Report the TTLs", "TASK [Show each server's state")


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
    recap = [line for line in lines if re.match(r"^launch_controller\s+:", line)]
    return out + [("Recap: " + re.sub(r"\s+", " ", recap[-1].split(":", 1)[1]).strip()) if recap
                  else "Recap: the run did not finish"]


def main() -> int:
    print("\n==== sandbox launch summary ====")
    for name in sys.argv[1:]:
        path = Path(name)
        if path.exists():
            print("-- %s" % ("the nameserver cutover" if "cutover" in path.name else "site.yml"))
            for line in summary(path.read_text()):
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
