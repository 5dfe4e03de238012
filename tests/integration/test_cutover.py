"""playbooks/cutover.yml refuses the unsafe move: no confirmation, or name servers that cannot be shown to
answer like the old ones, and nothing is PUT at Hostinger. (The full handoff needs the sandbox DNS world.)"""

from conftest import playbook, post


def puts(sandbox):
    return [r for r in post(sandbox["hostinger_api_url"] + "/__sim/requests", method="GET") if r["method"] == "PUT"]


def test_a_plain_site_run_never_touches_the_name_servers(fresh):
    run = playbook(fresh)
    assert run.rc == 0, run.out
    assert puts(fresh) == [] and "Switch the name servers" not in run.out


def test_cutover_needs_the_confirmation(fresh):
    assert playbook(fresh, "--tags", "preflight,dns_zone").rc == 0
    run = playbook(fresh, playbook_file="playbooks/cutover.yml")
    assert run.rc != 0 and "-e launch_cutover_confirm=directfanz.io" in run.out
    wrong = playbook(fresh, "-e", "launch_cutover_confirm=example.com", playbook_file="playbooks/cutover.yml")
    assert wrong.rc != 0 and puts(fresh) == []


def test_cutover_refuses_when_the_servers_cannot_be_compared(fresh, tmp_path):
    assert playbook(fresh, "--tags", "preflight,dns_zone").rc == 0
    run = playbook(fresh, "-e", "launch_cutover_confirm=directfanz.io", "-e", "launch_dns_query_timeout=0.5",
                   "-e", "launch_nameserver_backup_file=%s" % (tmp_path / "ns.json"),
                   playbook_file="playbooks/cutover.yml")
    assert run.rc != 0, run.out
    assert "cannot compare" in run.out and "did not answer authoritatively" in run.out
    assert puts(fresh) == [] and not (tmp_path / "ns.json").exists()
