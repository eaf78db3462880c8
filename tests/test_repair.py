from hypothesis import given, settings
from hypothesis import strategies as st

from qa.repair import repair_text
from tests.conftest import SEED_FILE

SEED_WORDS = [
    "für",
    "über",
    "Europäern",
    "Gespräche",
    "Gesprächen",
    "Präsident",
    "Unterhändler",
    "Chefunterhändler",
    "jüngsten",
    "bestätigte",
    "zunächst",
    "größte",
    "Militär",
    "Bündnistreue",
    "verhängte",
    "schwächen",
    "präsentiert",
    "Weißen",
    "hieß",
    "Friedenslösung",
    "verändert",
    "Ministerpräsidentin",
    "Strafzölle",
]


def test_every_broken_word_of_the_seed_comes_out_right():
    repaired = repair_text(SEED_FILE.read_text(encoding="utf-8"))
    for word in SEED_WORDS:
        assert word in repaired.text, word
    for damage in ("Ă", "À", "Â", "â€", "ĂŒ", "Ă¶"):
        assert damage not in repaired.text, damage
    assert repaired.repairs >= 40


def test_single_and_double_damage_in_one_sentence():
    result = repair_text("neue GesprÀche fĂŒr den PrĂ€sidenten, das grĂ¶ĂŸte Risiko")
    assert result.text == "neue Gespräche für den Präsidenten, das größte Risiko"
    assert result.repairs == 5


def test_punctuation_and_euro_are_repaired():
    assert repair_text("â€žGutâ€œ kostet 5 â‚Ź").text == "„Gut“ kostet 5 €"


def test_the_common_web_mojibake_is_repaired_too():
    assert repair_text("GrÃ¼ÃŸe aus KÃ¶ln").text == "Grüße aus Köln"


def test_real_capital_a_grave_survives():
    for text in ("À la carte", "Voilà, DÉJÀ VU, VOILÀ", "Rendez-vous À Paris", "L'ÉTÉ À NICE"):
        assert repair_text(text).text == text


def test_clean_text_that_looks_like_utf8_under_a_wrong_codec_survives():
    for text in ("„Gruß“", "«ÄÄ»", "Ä«", "Öl – ß€", "Maß„", "GRÜẞE"):
        assert repair_text(text).text == text


german = st.text(alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 .,;:!?-'\"\näöüßÄÖÜ«»„“–€")))


@settings(max_examples=2000, deadline=None)
@given(german)
def test_correct_german_text_is_never_changed(text):
    result = repair_text(text)
    assert result.text == text
    assert result.repairs == 0


def damage_like_the_archive(text: str) -> str:
    """UTF-8 bytes read as ISO-8859-16, with cp1252 for the C1 range: the archive's single damage."""
    return "".join(
        bytes([b]).decode("cp1252") if 0x80 <= b <= 0x9F else bytes([b]).decode("iso8859_16")
        for b in text.encode("utf-8")
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["für", "Gespräche", "größte", "Präsident", "Öl", "„Zitat“", "5 €", "Weiß"]), max_size=12)
)
def test_repair_inverts_the_archive_damage(words):
    clean = " ".join(words)
    assert repair_text(damage_like_the_archive(clean)).text == clean
