"""A failed certificate is reported with its reason and what to do (moto never fails one, so canned data)."""

from ansible_collections.directfanz.launch.plugins.modules import acm_certificate as M


def test_failed_and_timed_out_certificates_say_why_and_what_to_do():
    cert = {"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/x", "DomainName": "*.example.com",
            "Status": "FAILED", "FailureReason": "CAA_ERROR"}
    message = M.failure(cert)
    assert "is FAILED (CAA_ERROR)" in message and "state=absent" in message and "CAA" in message
    no_reason = {k: v for k, v in cert.items() if k != "FailureReason"}
    assert "is VALIDATION_TIMED_OUT (no reason given)" in M.failure(dict(no_reason, Status="VALIDATION_TIMED_OUT"))
    assert M.failure(dict(cert, Status="ISSUED")) is None


def test_validation_records_are_deduplicated():
    shared = {"Name": "_x.Example.com.", "Type": "CNAME", "Value": "_y.acm-validations.aws."}
    cert = {"DomainValidationOptions": [{"DomainName": "example.com", "ResourceRecord": shared},
                                        {"DomainName": "*.example.com", "ResourceRecord": shared},
                                        {"DomainName": "www.example.com"}]}
    assert M.validation_records(cert) == [{"name": "_x.example.com.", "type": "CNAME",
                                           "value": "_y.acm-validations.aws."}]
