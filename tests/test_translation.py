"""English question words in German for BM25: a dictd dictionary read, and used on English questions only."""

import gzip
import time

import pytest

from qa import Archive
from qa.lexical import LexicalQuery, translations
from qa.retrieval import FusionWeights
from qa.translation import Dictionary, DictionaryError, german_spellings, shared_dictionary
from qa.words import Language, language_of
from tests.conftest import import_articles

_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _number(value: int) -> str:
    digits = ""
    while True:
        digits = _BASE64[value % 64] + digits
        value //= 64
        if not value:
            return digits


def write_dictd(base, entries: list[tuple[str, str]]) -> Dictionary:
    """A dictd dictionary as dictfmt writes it: gzip-compressed entries, and an index of
    headword, offset and length (base 64)."""
    data, index = b"", []
    for headword, text in entries:
        encoded = text.encode("utf-8")
        index.append(f"{headword}\t{_number(len(data))}\t{_number(len(encoded))}")
        data += encoded
    base.with_name(base.name + ".dict.dz").write_bytes(gzip.compress(data))
    base.with_name(base.name + ".index").write_text("\n".join(sorted(index)) + "\n", encoding="utf-8")
    return Dictionary(base)


ENTRIES = [
    ("negotiate", "negotiate /nɪɡˈəʊʃɪˌeɪt/ <v>\nüberwinden, passieren <v, trans>\n"),
    (
        "negotiate",
        'negotiate /nɪɡˈəʊʃɪˌeɪt/ <v>\nverhandeln <v, intr> [über etw. mit jdm.]\n      "negotiate a treaty"  - '
        'einen Vertrag aushandeln\n      "negotiate peace"  - Frieden aushandeln\n',
    ),
    (
        "delegation",
        "delegation /dˌɛlɪɡˈeɪʃən/\nAbordnung <fem>, Delegation ([+ gen]) <fem>, Ständige Vertretung [adm.]\n"
        '      "head a delegation"  - eine Delegation leiten\n',
    ),
    ("meet", "meet /mˈiːt/ <v>\nsich (mit jdm.) treffen, zusammentreffen <v, intr>\n"),
    ("head of state", "head of state\nStaatsoberhaupt <neut>\n"),
    ("lower saxony", "Lower Saxony /lˈəʊə sˈaksəni/\nNiedersachsen <neut> [geogr.]\n"),
    ("state election", "state election\n [German] Landtagswahl <fem> [pol.]\n"),
    ("last year", "last year\nvoriges/vergangenes/letztes Jahr, im vergangenen Jahr\n"),
    ("federal government of the united states", "Federal Government of the United States\nUS-Regierung <fem>\n"),
    ("mecklenburgwestern pomerania", "Mecklenburg-Western Pomerania\nMecklenburg-Vorpommern <neut> [geogr.]\n"),
    ("rhinelandpalatinate", "Rhineland-Palatinate\nRheinland-Pfalz <neut> [geogr.]\n"),
    ("s", "S\nSüden <masc>\n"),
]


def test_a_dictd_dictionary_gives_the_main_senses_single_words(tmp_path):
    dictionary = write_dictd(tmp_path / "eng-deu", ENTRIES)
    assert dictionary.exists()
    assert dictionary.translate("negotiate") == ("verhandeln", "überwinden", "passieren")
    assert dictionary.translate("Delegation") == ("Abordnung", "Delegation")
    assert dictionary.translate("meet") == ("treffen", "zusammentreffen")
    assert dictionary.translate("head") == ()
    assert dictionary.translate("umjerow") == ()


def test_phrases_of_two_or_three_words_give_the_german_word_to_each_of_their_words(tmp_path):
    """German writes in one word what English writes in two: "Lower Saxony" is Niedersachsen,
    and neither "lower" nor "Saxony" on its own finds it."""
    dictionary = write_dictd(tmp_path / "eng-deu", ENTRIES)
    assert dictionary.translate("lower saxony") == ("Niedersachsen",)
    translated = translations("Who won the last state election in Lower Saxony?", dictionary)
    assert "Niedersachsen" in translated["lower"] and "Niedersachsen" in translated["saxony"]
    assert "Landtagswahl" in translated["state"] and "Landtagswahl" in translated["election"]
    assert "year" not in translated, "a translation of several words is no German word"
    assert translations("Who is the head of state?", dictionary)["head"] == ("Staatsoberhaupt",)
    assert dictionary.translate("federal government of the united states") == (), "longer headwords are not read"
    query = LexicalQuery.parse("Who won the state election in Lower Saxony?", dictionary=dictionary)
    assert {"niedersachs", "landtagswahl"} <= set(query.terms)


def test_hyphenated_headwords_are_found_as_dictd_writes_them_and_a_possessive_s_is_no_word(tmp_path):
    """A dictd index writes "Mecklenburg-Western Pomerania" as "mecklenburgwestern pomerania"."""
    dictionary = write_dictd(tmp_path / "eng-deu", ENTRIES)
    translated = translations("How much tax does Mecklenburg-Western Pomerania's foundation pay?", dictionary)
    assert translated["pomerania"] == ("Mecklenburg-Vorpommern",)
    assert translated["mecklenburg"] == ("Mecklenburg-Vorpommern",)
    assert "s" not in translated, "the possessive s is translated as Süden"
    assert translations("Who governs Rhineland-Palatinate?", dictionary)["palatinate"] == ("Rheinland-Pfalz",)


def test_english_questions_get_german_terms_and_german_ones_do_not(tmp_path):
    dictionary = write_dictd(tmp_path / "eng-deu", ENTRIES)
    english = "Who will negotiate with the delegation?"
    plain = LexicalQuery.parse(english)
    translated = LexicalQuery.parse(english, dictionary=dictionary)
    assert len(translated.groups) == len(plain.groups) == 2
    assert set(translated.terms) - set(plain.terms) == {"verhandel", "uberwind", "passi", "abordn"}
    german = "Wer wird mit der Delegation verhandeln?"
    assert LexicalQuery.parse(german, dictionary=dictionary) == LexicalQuery.parse(german)


@pytest.mark.parametrize(
    ("question", "english"),
    [
        ("Who leads the Ukrainian delegation?", True),
        ("What did the EU present on the anniversary of the invasion?", True),
        ("And who negotiates for Russia?", True),
        ("Wer führt die Gespräche für die USA?", False),
        ("Und wer verhandelt für Russland?", False),
        ("Wann wurde die Schule gegründet?", False),
        ("Umjerow", False),
    ],
)
def test_the_question_language_is_read_from_its_function_words(question, english):
    assert (language_of(question) is Language.ENGLISH) is english


def test_a_broken_dictionary_names_the_file_and_translates_nothing(tmp_path, caplog):
    dictionary = write_dictd(tmp_path / "eng-deu", ENTRIES)
    dictionary.index_file.write_text("negotiate\tA!\tB\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"eng-deu\.index: line 1: 'A!' is not a dictd base-64 number"):
        dictionary.read()
    assert dictionary.translate("negotiate") == ()
    assert "eng-deu.index" in dictionary.problem
    assert "not translated" in caplog.text

    truncated = write_dictd(tmp_path / "short", ENTRIES)
    truncated.data_file.write_bytes(gzip.compress(b"negotiate"))
    with pytest.raises(DictionaryError, match=r"short\.index: line \d: entry ends past the data file's end"):
        truncated.read()
    truncated.data_file.write_bytes(b"not gzip")
    with pytest.raises(DictionaryError, match=r"short: cannot read the dictionary"):
        truncated.read()


def test_the_installed_freedict_dictionary_is_found_and_read():
    """The README's set-up installs FreeDict's English-German dictionary (dict-freedict-eng-deu)."""
    dictionary = shared_dictionary()
    assert dictionary is not None, "install dict-freedict-eng-deu (see the README) or set QA_DICTIONARY"
    assert len(dictionary) > 100_000
    assert "verhandelt" in dictionary.translate("negotiates")
    assert "Unterhändler" in dictionary.translate("negotiators")
    assert dictionary.translate("lower saxony") == ("Niedersachsen",)
    assert "Spitzenkandidat" in dictionary.translate("lead candidate")


@pytest.mark.slow
def test_english_words_find_german_text_through_the_dictionary(seed_archive):
    question = "Where are the negotiators on their way to?"
    translated = seed_archive.search(question, k=1, mode="bm25")
    assert translated and "Unterhändler seien bereits auf dem Weg" in translated[0].text
    assert "Unterhändler" in dict(seed_archive.analyse(question).translated)["negotiators"]
    analyser = seed_archive._questions
    dictionary = analyser.dictionary
    try:
        analyser.dictionary = None
        assert seed_archive.search(question, k=1, mode="bm25") == []
    finally:
        analyser.dictionary = dictionary
    assert FusionWeights().translate


def test_a_capitalised_plural_is_also_translated_as_its_singular(seed_archive):
    translated = dict(seed_archive.analyse("Who led the Greens in the election?").translated)
    assert "grün" in {word.lower() for word in translated["greens"]}
    vegetables = dict(seed_archive.analyse("Where are greens sold?").translated).get("greens", ())
    assert "grün" not in {word.lower() for word in vegetables}


def test_an_archive_opened_without_translation_uses_no_dictionary(tmp_path, embedder):
    assert Archive.open(tmp_path / "with", embedder=embedder).stats().dictionary == shared_dictionary().path
    untranslated = Archive.open(tmp_path / "without", embedder=embedder, fusion=FusionWeights(translate=False))
    assert untranslated.stats().dictionary is None
    assert untranslated._questions.dictionary is None
    assert untranslated.analyse("Who negotiates?").translated == ()


def test_the_dictionary_is_read_once_into_a_cache_and_again_when_it_changes(tmp_path):
    dictionary = write_dictd(tmp_path / "eng-deu", ENTRIES)
    assert "verhandeln" in dictionary.translate("negotiate")
    cache = dictionary.cache_file()
    assert cache.exists()
    again = Dictionary(dictionary.path)
    assert again.translate("negotiate") == dictionary.translate("negotiate") and again.cache_file() == cache
    time.sleep(0.01)
    changed = write_dictd(tmp_path / "eng-deu", [("negotiate", "negotiate <v>\nfeilschen <v>\n")])
    assert changed.cache_file() != cache
    assert Dictionary(changed.path).translate("negotiate") == ("feilschen",)


@pytest.mark.parametrize(
    ("word", "spellings"),
    [
        ("Kinzhal", ("kinschal",)),
        ("Frankivsk", ("frankiwsk",)),
        ("Kharkiv", ("charkiw",)),
        ("Zelensky", ("zelenskyj", "selenskyj")),
        ("20th", ("20",)),
        ("71st", ("71",)),
        ("Berlin", ()),
        ("delegation", ()),
    ],
)
def test_how_german_spells_an_english_questions_names_and_ordinals(word, spellings):
    assert german_spellings(word) == spellings


def test_a_name_spelt_the_english_way_is_found_in_german_text_and_not_declined(archive, tmp_path):
    import_articles(
        archive,
        tmp_path / "articles",
        (
            "kinschal.txt",
            "Russland setzt erstmals Hyperschallrakete ein",
            "19.03.2022 - 14:00:00",
            [
                "Russland hat nach eigenen Angaben erstmals im Krieg gegen die Ukraine Hyperschallraketen vom Typ "
                "Kinschal eingesetzt. Getroffen worden sei ein unterirdisches Waffenlager im Dorf Deljatyn im "
                "Gebiet Iwano-Frankiwsk, teilte das Verteidigungsministerium in Moskau mit."
            ],
        ),
    )
    question = "Which village in the Ivano-Frankivsk region did the first Kinzhal missile strike hit?"
    hits = archive.search(question, k=1, mode="bm25")
    assert hits and "Kinschal" in hits[0].text
    answer = archive.ask(question)
    assert answer.declined is None or "no article names" not in answer.declined
    assert answer.short == "Deljatyn"


def test_two_english_words_find_the_german_compound_the_archive_holds(archive, tmp_path):
    import_articles(
        archive,
        tmp_path / "articles",
        (
            "minister.txt",
            "Neue Corona-Regeln ab Montag",
            "11.01.2022 - 10:00:00",
            ["Gesundheitsminister Wolfgang Mückstein kündigte am Dienstag neue Regeln für die Gastronomie an."],
        ),
        (
            "health.txt",
            "Minister besucht Klinik",
            "12.01.2022 - 10:00:00",
            ["Der Minister sprach über die Gesundheit der Pflegekräfte und dankte dem Personal der Klinik."],
        ),
    )
    question = "Who is Austria's health minister?"
    assert "Gesundheitsminister" in dict(archive.analyse(question).translated)["minister"]
    assert "Gesundheitsminister" not in dict(archive.analyse("Who is the finance minister?").translated)["minister"]
    found = {hit.article_id for hit in archive.search(question, k=2, mode="bm25")}
    assert found == {"minister", "health"}


def test_a_word_followed_by_its_abbreviation_is_read_as_the_word(tmp_path):
    """FreeDict writes a German word's abbreviation after its grammar note: "geboren <adj>geb."
    is geboren, which was left out whole (607 such alternatives in FreeDict's eng-deu), so "born"
    found gebären and never the "geboren" of the reports."""
    entries = [
        ("born", "born /bˈɔːn/\ngeboren <adj>geb.,  /dʒˈɛb/\n"),
        ("born", "born /bˈɔːn/\ngebären, kreißen <v, trans>\n"),
        ("address", "address /ədrˈɛs/\nAdresse <fem>Adr.\n"),
        ("access denied", "access denied\nZugriff abgelehnt.\n"),
    ]
    dictionary = write_dictd(tmp_path / "eng-deu", entries)
    assert set(dictionary.translate("born")) == {"geboren", "gebären", "kreißen"}
    assert dictionary.translate("address") == ("Adresse",)
    assert dictionary.translate("access denied") == ()
