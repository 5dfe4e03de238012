"""The short human summary `make sandbox` prints after the site run: the dns_zone report and the recap."""

from __future__ import annotations

import re
import sys
from pathlib import Path


def summary(log: str) -> list[str]:
    lines = log.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("TASK [directfanz.launch.route53_zone : Report"):
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
    text = Path(sys.argv[1]).read_text()
    print("\n==== sandbox launch summary ====")
    for line in summary(text):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
