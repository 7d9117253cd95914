"""Country codes: the two-letter codes ISO 3166-1 assigns, and what a wrong one probably meant."""

from __future__ import annotations

#: Every officially assigned ISO 3166-1 alpha-2 code (249). A fact, not a dependency: the list changes
#: about once a decade (the last addition was SS, South Sudan, in 2011).
_ASSIGNED = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT
    BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH
    ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT
    HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS
    LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI
    NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG
    SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
    UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_COUNTRY_CODES = frozenset(_ASSIGNED.split())
#: Codes people type that ISO reserves for another use, and the assigned code they mean.
_COMMON_MISTAKES = {"UK": "GB", "EL": "GR"}


def country_problem(code: str) -> str | None:
    """Why ``code`` is not an assigned ISO 3166-1 alpha-2 country code, or None when it is one."""
    if code in ISO_COUNTRY_CODES:
        return None
    meant = _COMMON_MISTAKES.get(code)
    if meant:
        return f"{code!r} is not an ISO 3166-1 alpha-2 country code; did you mean {meant}?"
    return (
        f"{code[:8]!r} is not an assigned ISO 3166-1 alpha-2 country code"
        " (two capital letters, e.g. US, CA, GB, DE)"
    )


def require_assigned(code: str) -> str:
    """``code`` when it is an assigned country code; a ValueError saying why otherwise (a validator)."""
    problem = country_problem(code)
    if problem:
        raise ValueError(problem)
    return code


def assigned_code(text: str) -> str | None:
    """The assigned code ``text`` stands for (``us`` → US, ``UK`` → GB), or None when it is not one."""
    code = text.strip().upper()
    if code in ISO_COUNTRY_CODES:
        return code
    return _COMMON_MISTAKES.get(code)


#: Country names as TikTok Shop writes them in an address's ``district_info``, for the markets it sells
#: in; a name not here is not guessed at.
_MARKET_NAMES = {
    "united states": "US", "united states of america": "US", "usa": "US",
    "united kingdom": "GB", "great britain": "GB",
    "mexico": "MX", "méxico": "MX", "spain": "ES", "españa": "ES", "ireland": "IE",
    "germany": "DE", "deutschland": "DE", "france": "FR", "italy": "IT", "italia": "IT",
    "japan": "JP", "brazil": "BR", "brasil": "BR", "indonesia": "ID", "malaysia": "MY",
    "philippines": "PH", "singapore": "SG", "thailand": "TH", "vietnam": "VN", "viet nam": "VN",
}  # fmt: skip


def code_for_name(name: str) -> str | None:
    """The code of a TikTok Shop market's country written out (``United States`` → US), else None."""
    return _MARKET_NAMES.get(" ".join(name.split()).casefold())
