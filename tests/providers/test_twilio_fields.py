"""The Twilio field checks the provider's warnings and the connections' errors share."""

from phoneprovider.providers.twilio import sender_clean, sid_problem

HEX32 = "0123456789abcdefABCDEF0123456789"


def test_sid_problem_accepts_each_kind_with_its_own_prefix_only():
    for prefix in ("AC", "MG", "VA"):
        assert sid_problem(prefix + HEX32, prefix) is None
    assert sid_problem("MG" + HEX32, "AC") == (
        "The Twilio Account SID is AC followed by 32 hexadecimal characters."
    )
    assert "Verify Service SID is VA" in sid_problem("VA" + HEX32[:-1], "VA")
    assert "Messaging Service SID is MG" in sid_problem("MG" + HEX32 + "\n", "MG")
    assert sid_problem("", "AC") is not None


def test_sender_clean_keeps_numbers_in_e164_and_names_as_given():
    assert sender_clean("  +44 20 7946 0958 ") == ("+442079460958", None)
    assert sender_clean(" Acme ") == ("Acme", None)
    assert sender_clean("") == ("", None)
    stored, refused = sender_clean(" 02079460958 ")
    assert stored == "02079460958"
    assert refused.field == "default_from" and "E.164" in refused.message
