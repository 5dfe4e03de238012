"""The continuity probe's rules (module_utils/continuity.py) on a scripted DNS: each answer classed against the old and
the new servers' answers, lost answers counted with their times, timeouts apart, the stop file ending the rounds."""

from ansible_collections.directfanz.launch.plugins.module_utils import continuity as C

OLD = {"address": "127.0.0.10", "port": 53, "name": "ns1.dns-parking.com"}
NEW = {"address": "127.0.0.20", "port": 53, "name": "ns-1.awsdns-01.org"}
R1 = {"address": "127.0.0.31", "port": 53, "name": "r1"}
R2 = {"address": "127.0.0.32", "port": 53, "name": "r2"}
MX = ("directfanz.io.", "MX")
APEX = ("directfanz.io.", "A")


def reply(values, rtype, name="directfanz.io.", rcode="NOERROR", aa=False):
    return {"rcode": rcode, "aa": aa, "answer": {"%s %s" % (name, rtype): values} if values else {},
            "authority": {}, "additional": {}, "ttls": {}}


class Script:
    """Authoritative answers per server; resolver answers per round from ``rounds`` (a list of {resolver: {q: reply}})."""

    def __init__(self, rounds):
        self.rounds, self.round, self.asked = rounds, 0, 0
        self.auth = {OLD["name"]: {MX: ["10 mx1.hostinger.com."], APEX: ["203.0.113.7"]},
                     NEW["name"]: {MX: ["10 mx1.hostinger.com."], APEX: ["192.0.2.10"]}}

    def ask(self, server, qname, rdtype, recurse, cd=False):
        self.asked += 1
        if not recurse:
            return reply(self.auth[server["name"]][(qname, rdtype)], rdtype, qname, aa=True)
        script = self.rounds[min(self.round, len(self.rounds) - 1)]
        return script.get(server["name"], {}).get((qname, rdtype)) or reply(
            self.auth[NEW["name"]][(qname, rdtype)], rdtype, qname)


def run(rounds, stop_after=None, tmp_path=None, max_seconds=100):
    script = Script(rounds)
    clock = {"t": 1000.0}
    stop = tmp_path / "stop" if tmp_path else None

    def sleep(s):
        clock["t"] += max(s, 1.0)
        script.round += 1
        if stop is not None and stop_after is not None and script.round >= stop_after:
            stop.write_text("")

    result = C.probe(script, [R1, R2], [MX, APEX], [OLD], [NEW], 1.0, max_seconds, str(stop) if stop else None,
                     str(tmp_path / "ready") if tmp_path else None, clock=lambda: clock["t"], sleep=sleep, workers=2)
    return result


def test_old_then_new_answers_lose_nothing_and_the_stop_file_ends_it(tmp_path):
    old_apex = {APEX: reply(["203.0.113.7"], "A")}
    result = run([{"r1": old_apex, "r2": old_apex}, {"r2": old_apex}, {}], stop_after=3, tmp_path=tmp_path)
    assert result["rounds"] == 4 and result["stopped_by"] == "stop_file"
    assert "started" not in result  # async_status reads a "started" key as "the job still runs"
    assert result["probes"] == 16 and result["lost"] == 0 and result["unanswered"] == 0
    assert result["counts"]["old"] == 3 and result["counts"]["new"] == 13
    assert result["per_resolver"]["r1"]["first_new"] is not None
    assert (tmp_path / "ready").read_text().startswith("1970-01-01T00:16:40.000Z")
    assert C.summary_text(result) == "16 probes through 2 resolvers over 3 s (2 questions, 4 rounds): 0 lost"


def test_an_empty_mx_a_strange_address_and_servfail_are_lost_with_their_times(tmp_path):
    bad = {"r1": {MX: reply([], "MX", rcode="NXDOMAIN"), APEX: reply(["198.51.100.1"], "A")},
           "r2": {MX: reply([], "MX", rcode="SERVFAIL")}}
    result = run([bad, {}], stop_after=2, tmp_path=tmp_path)
    assert result["lost"] == 3 and result["counts"]["empty"] == 1 and result["counts"]["differs"] == 1
    assert result["counts"]["servfail"] == 1
    kinds = {(a["resolver"], a["question"], a["kind"]) for a in result["anomalies"]}
    assert kinds == {("r1", "directfanz.io. MX", "empty"), ("r1", "directfanz.io. A", "differs"),
                     ("r2", "directfanz.io. MX", "servfail")}
    assert all(a["at"].startswith("1970-01-01T00:16:40") for a in result["anomalies"])
    assert "3 lost - r1 directfanz.io. MX empty at" in C.summary_text(result)


def test_a_resolver_that_does_not_answer_is_counted_apart_not_lost(tmp_path):
    result = run([{"r2": {MX: {"error": "timeout"}, APEX: {"error": "timeout"}}}, {}], stop_after=1, tmp_path=tmp_path)
    assert result["lost"] == 0 and result["unanswered"] == 2
    assert result["per_resolver"]["r2"]["unanswered"] == 2
    assert "2 unanswered (timeouts, not counted as lost)" in C.summary_text(result)


def test_without_a_stop_file_it_ends_at_max_seconds():
    result = run([{}], max_seconds=5)
    assert result["stopped_by"] == "max_seconds" and result["rounds"] == 6


def test_classify_empty_on_both_sides_is_no_loss():
    assert C.classify(reply([], "TXT", rcode="NXDOMAIN"), "x.directfanz.io.", "TXT", {"x.directfanz.io. TXT": []},
                      {"x.directfanz.io. TXT": []}) == ("new", [])
    assert C.classify({"error": "timeout"}, "x.", "A", {"x. A": ["1"]}, {"x. A": ["2"]}) == ("unanswered", "timeout")


WWW = "www.directfanz.io."
# Hostinger's www is a CNAME to the apex; Route 53's an alias A to CloudFront, the apex an alias too
OLD_ZONE = {"www.directfanz.io. A": ["203.0.113.7", "CNAME directfanz.io."], "directfanz.io. A": ["203.0.113.7"]}
NEW_ZONE = {"www.directfanz.io. A": ["192.0.2.10"], "directfanz.io. A": ["192.0.2.10", "192.0.2.11"]}


def chain(cname, values):
    r = reply(values, "A", "directfanz.io.")
    r["answer"]["%s CNAME" % WWW] = [cname]
    return r


def test_an_old_cname_whose_target_comes_from_the_new_zone_is_mixed_and_not_lost():
    # the resolver kept the old zone's CNAME; the apex it points to expired sooner and came from Route 53
    assert C.classify(chain("directfanz.io.", ["192.0.2.11", "192.0.2.10"]), WWW, "A", OLD_ZONE, NEW_ZONE) == (
        "mixed", ["192.0.2.10", "192.0.2.11", "CNAME directfanz.io."])
    # both links old: old
    assert C.classify(chain("directfanz.io.", ["203.0.113.7"]), WWW, "A", OLD_ZONE, NEW_ZONE)[0] == "old"
    # a CNAME neither zone gives, or a target address neither zone gives: lost
    assert C.classify(chain("elsewhere.example.", ["192.0.2.10"]), WWW, "A", OLD_ZONE, NEW_ZONE)[0] == "differs"
    assert C.classify(chain("directfanz.io.", ["198.51.100.9"]), WWW, "A", OLD_ZONE, NEW_ZONE)[0] == "differs"
    assert C.classify(chain("directfanz.io.", []), WWW, "A", OLD_ZONE, NEW_ZONE)[0] == "differs"


def test_a_cname_to_a_name_outside_the_zone_is_judged_by_its_link():
    # the zone's authoritative answer holds only the CNAME; a resolver adds what the target resolves to elsewhere
    old = {"shop.directfanz.io. A": ["CNAME shops.myshopify.com."]}
    new = {"shop.directfanz.io. A": ["CNAME shops.myshopify.com."]}
    r = reply(["23.227.38.65"], "A", "shops.myshopify.com.")
    r["answer"]["shop.directfanz.io. CNAME"] = ["shops.myshopify.com."]
    assert C.classify(r, "shop.directfanz.io.", "A", old, new)[0] == "new"
    assert C.classify(r, "shop.directfanz.io.", "A", old, {"shop.directfanz.io. A": ["192.0.2.10"]})[0] == "old"


def test_the_probe_reads_both_zones_for_the_cname_targets_and_counts_mixed_answers_apart(tmp_path):
    class Chains(Script):
        def __init__(self, rounds):
            super().__init__(rounds)
            self.auth[OLD["name"]][(WWW, "A")] = ["203.0.113.7", "CNAME directfanz.io."]
            self.auth[NEW["name"]][(WWW, "A")] = ["192.0.2.10"]

        def ask(self, server, qname, rdtype, recurse, cd=False):
            if not recurse and (qname, rdtype) == (WWW, "A") and server["name"] == OLD["name"]:
                r = reply(["203.0.113.7"], "A", "directfanz.io.", aa=True)
                r["answer"]["%s CNAME" % WWW] = ["directfanz.io."]
                return r
            return super().ask(server, qname, rdtype, recurse, cd)

    www = (WWW, "A")
    script = Chains([{"r1": {www: chain("directfanz.io.", ["192.0.2.10"])}}, {}])
    clock = {"t": 1000.0}

    def sleep(s):
        clock["t"] += 1.0
        script.round += 1

    result = C.probe(script, [R1, R2], [MX, www], [OLD], [NEW], 1.0, 2, clock=lambda: clock["t"], sleep=sleep,
                     workers=2)
    # the apex was not asked for, yet both zones' apex answers were read to judge www's chain
    assert result["old"]["directfanz.io. A"] == ["203.0.113.7"] and result["new"]["directfanz.io. A"] == ["192.0.2.10"]
    assert result["counts"]["mixed"] == 1 and result["lost"] == 0, result["counts"]
    assert "1 answered from both zones" in C.summary_text(result)
