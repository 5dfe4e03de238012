"""The collection as a Galaxy user gets it: `ansible-galaxy collection build`, the tarball installed into a fresh
collections path, and the launch's playbook run from there (`ansible-playbook directfanz.launch.site`) against the
sandbox, with an ansible.cfg that knows no other copy of directfanz.launch."""

import subprocess
import tarfile

import yaml

from conftest import BIN, ROOT, SANDBOX_VAULT_PASSWORD, Run, reset

# What a user's installed collection must hold, and what stays in the repository (galaxy.yml build_ignore)
NEEDED = ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "playbooks/site.yml",
          "playbooks/cutover.yml", "playbooks/vars/launch_defaults.yml", "roles/route53_zone/tasks/main.yml",
          "plugins/modules/hostinger_dns_records.py", "plugins/module_utils/hostinger_zone.py",
          "plugins/filter/dns.py", "inventories/production/group_vars/all/main.yml")
LEFT_OUT = ("sandbox/", "tools/", ".venv/", ".ansible/", ".cache/", ".git/", "Makefile", "site.yml")


def test_the_built_tarball_installs_and_runs_the_launch_from_a_fresh_collections_path(sandbox, tmp_path):
    reset(sandbox)
    built = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    tarball = tmp_path / ("directfanz-launch-%s.tar.gz" % version)
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    # MANIFEST.json and FILES.json are written by the build (galaxy.yml's content is in MANIFEST.json)
    for path in NEEDED:
        assert path in names, path
    leaked = sorted({n for n in names for prefix in LEFT_OUT if n == prefix.rstrip("/") or n.startswith(prefix)})
    assert leaked == [], leaked[:20]

    # a user's machine: an ansible.cfg that knows only the fresh collections path (under the checkout's own
    # ansible.cfg, which `make test` exports, ansible-galaxy would find the checkout's copy and install nothing)
    collections = tmp_path / "collections"
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\ncollections_path = %s\nstdout_callback = ansible.builtin.default\n"
                   "interpreter_python = auto_silent\n" % collections)
    env = dict(sandbox["env"], ANSIBLE_CONFIG=str(cfg), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    for key in [k for k in env if k.startswith(("AWS_", "HOSTINGER_", "ANSIBLE_COLLECTIONS_"))]:
        env.pop(key)
    installed = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p",
                                str(collections), str(tarball)], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=300, check=False)
    assert installed.returncode == 0 and "installed successfully" in installed.stdout, installed.stdout + installed.stderr
    listed = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "list", "directfanz.launch"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert str(collections) in listed.stdout and str(ROOT / ".cache") not in listed.stdout, listed.stdout

    # the playbook from the installed collection, the user's own inventory: the dns_zone phase (preflight first)
    proc = subprocess.run([str(BIN / "ansible-playbook"), "directfanz.launch.site", "-i",
                           str(ROOT / "inventories" / "sandbox"), "--vault-password-file", str(SANDBOX_VAULT_PASSWORD),
                           "--tags", "dns_zone", "-vvv"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    run = Run(proc)
    assert run.rc == 0 and run.failed == 0 and run.changed >= 2, run.out[-4000:]
    used = {line.split("Using module file ", 1)[1].strip() for line in run.out.splitlines()
            if "Using module file " in line and "/directfanz/launch/" in line}
    assert used and all(path.startswith(str(collections)) for path in used), sorted(used)
    assert any(path.endswith("/hostinger_dns_info.py") for path in used), sorted(used)
