"""ISO 3166-1 alpha-2 country codes for a vehicle's registration country.

The project has no country library (django-countries / pycountry are not in the stack) and we only
need membership, not names, so the 249 officially assigned codes are listed here. The list is checked
against the IANA tz database's ``iso3166.tab`` in the tests.
"""

from .exceptions import InvalidCountryError

_ASSIGNED_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES
    ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE
    IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU
    NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM
    SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE
    VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_3166_ALPHA2: frozenset[str] = frozenset(_ASSIGNED_CODES.split())


def normalize_country(raw: str | None) -> str | None:
    """``None`` or ``""`` → ``None`` (unknown); otherwise the upper-cased code if it is assigned.

    Raises ``InvalidCountryError`` (400 on ``country``) for anything else.
    """
    if raw is None:
        return None
    code = raw.strip().upper()
    if not code:
        return None
    if code not in ISO_3166_ALPHA2:
        raise InvalidCountryError()
    return code
