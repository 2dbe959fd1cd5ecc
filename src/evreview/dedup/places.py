"""Place names for telling apart studies whose titles differ only in where they were done.

One team's sibling studies ("Barriers to vaccination in Kenya" / "... in Ghana", "... in Chinese
patients" / "... in Japanese patients") agree on authors, year and journal, and conference
abstracts carry no pages: without this list the two titles, ~95 % alike, were one study by
``title_match``. :data:`PLACES` maps a folded name (lower case, punctuation as spaces, as
:func:`evreview.dedup.keys.fold_text` writes it) to one member per place, so spellings, short
forms and the people's adjective of a place ("uk" / "united kingdom" / "british", "china" /
"chinese") stay one member and never a contrast, while two members are.

Countries and their common short forms, the larger world regions, US states, Canadian
provinces, Australian states and the nations of the UK. Cities are left out: too many share
their names with people and things. A name that is also a common word ("chad", "jordan",
"turkey", "georgia") costs little: it changes a decision only when two titles differ in
nothing but such names, and then the pair becomes a question for the reviewer, not a merge.
"""

from __future__ import annotations

import re
from functools import cache

_COUNTRIES: dict[str, tuple[str, ...]] = {
    # member: other names and the people's adjective, folded
    "afghanistan": ("afghan",), "albania": ("albanian",), "algeria": ("algerian",),
    "andorra": (), "angola": ("angolan",), "argentina": ("argentine", "argentinian"),
    "armenia": ("armenian",), "australia": ("australian",), "austria": ("austrian",),
    "azerbaijan": ("azerbaijani",), "bahamas": (), "bahrain": (), "bangladesh": ("bangladeshi",),
    "barbados": (), "belarus": ("belarusian",), "belgium": ("belgian",), "belize": (),
    "benin": (), "bhutan": (), "bolivia": ("bolivian",),
    "bosnia": ("bosnia and herzegovina", "bosnian"), "botswana": (), "brazil": ("brazilian",),
    "brunei": (), "bulgaria": ("bulgarian",), "burkina faso": (), "burundi": (),
    "cambodia": ("cambodian",), "cameroon": ("cameroonian",), "canada": ("canadian",),
    "cape verde": ("cabo verde",), "central african republic": (), "chad": (), "chile": ("chilean",),
    "china": ("chinese", "prc"), "colombia": ("colombian",), "comoros": (), "congo": ("drc",),
    "costa rica": (), "cote d ivoire": ("ivory coast", "ivorian"), "croatia": ("croatian",),
    "cuba": ("cuban",), "cyprus": ("cypriot",), "czechia": ("czech republic", "czech"),
    "denmark": ("danish",), "djibouti": (), "dominican republic": (), "ecuador": ("ecuadorian",),
    "egypt": ("egyptian",), "el salvador": (), "equatorial guinea": (), "eritrea": ("eritrean",),
    "estonia": ("estonian",), "eswatini": ("swaziland",), "ethiopia": ("ethiopian",), "fiji": (),
    "finland": ("finnish",), "france": ("french",), "gabon": (), "gambia": (),
    "georgia": (), "germany": ("german",), "ghana": ("ghanaian",), "greece": ("greek",),
    "guatemala": ("guatemalan",), "guinea": (), "guinea bissau": (), "guyana": (), "haiti": ("haitian",),
    "honduras": (), "hong kong": (), "hungary": ("hungarian",), "iceland": ("icelandic",),
    "india": ("indian",), "indonesia": ("indonesian",), "iran": ("iranian",), "iraq": ("iraqi",),
    "ireland": ("irish",), "israel": ("israeli",), "italy": ("italian",), "jamaica": ("jamaican",),
    "japan": ("japanese",), "jordan": ("jordanian",), "kazakhstan": (), "kenya": ("kenyan",),
    "korea": ("south korea", "republic of korea", "korean"), "north korea": (), "kosovo": (),
    "kuwait": ("kuwaiti",), "kyrgyzstan": (), "laos": ("lao pdr",), "latvia": ("latvian",),
    "lebanon": ("lebanese",), "lesotho": (), "liberia": ("liberian",), "libya": ("libyan",),
    "lithuania": ("lithuanian",), "luxembourg": (), "madagascar": (), "malawi": ("malawian",),
    "malaysia": ("malaysian",), "maldives": (), "mali": (), "malta": ("maltese",), "mauritania": (),
    "mauritius": (), "mexico": ("mexican",), "moldova": (), "mongolia": ("mongolian",),
    "montenegro": (), "morocco": ("moroccan",), "mozambique": (), "myanmar": ("burma",),
    "namibia": (), "nepal": ("nepali", "nepalese"), "netherlands": ("holland", "dutch"),
    "new zealand": ("aotearoa",), "nicaragua": (), "niger": (), "nigeria": ("nigerian",),
    "north macedonia": ("macedonia",), "norway": ("norwegian",), "oman": (), "pakistan": ("pakistani",),
    "palestine": ("palestinian",), "panama": (), "papua new guinea": (), "paraguay": (),
    "peru": ("peruvian",), "philippines": ("filipino",), "poland": ("polish",),
    "portugal": ("portuguese",), "puerto rico": (), "qatar": (), "romania": ("romanian",),
    "russia": ("russian federation", "russian"), "rwanda": ("rwandan",), "samoa": (),
    "saudi arabia": ("saudi",), "senegal": (), "serbia": ("serbian",), "sierra leone": (),
    "singapore": (), "slovakia": ("slovak",), "slovenia": ("slovenian",), "somalia": ("somali",),
    "south africa": ("south african",), "south sudan": (), "spain": ("spanish",),
    "sri lanka": ("sri lankan",), "sudan": ("sudanese",), "suriname": (), "sweden": ("swedish",),
    "switzerland": ("swiss",), "syria": ("syrian",), "taiwan": ("taiwanese",),
    "tajikistan": (), "tanzania": ("tanzanian",), "thailand": ("thai",), "timor leste": (),
    "togo": (), "trinidad and tobago": (), "tunisia": ("tunisian",), "turkey": ("turkiye", "turkish"),
    "turkmenistan": (), "uganda": ("ugandan",), "ukraine": ("ukrainian",),
    "united arab emirates": ("uae",), "uk": ("united kingdom", "u k", "great britain", "britain", "british"),
    "usa": ("united states", "united states of america", "u s", "u s a", "american"), "uruguay": (),
    # peoples of a country named by two words, each its own member ("american" alone is the USA)
    "african american": ("african americans",), "native american": ("native americans",),
    "american indian": ("american indians",),
    "uzbekistan": (), "venezuela": ("venezuelan",), "vietnam": ("viet nam", "vietnamese"),
    "yemen": ("yemeni",), "zambia": ("zambian",), "zimbabwe": ("zimbabwean",),
    # nations of the UK
    "england": ("english",), "scotland": ("scottish",), "wales": ("welsh",), "northern ireland": (),
    # world regions
    "africa": ("african",), "sub saharan africa": ("subsaharan africa",), "east africa": (),
    "west africa": (), "southern africa": (), "north africa": (), "asia": ("asian",),
    "south asia": (), "southeast asia": ("south east asia",), "east asia": (), "central asia": (),
    "middle east": (), "europe": ("european",), "latin america": ("latin american",),
    "south america": (), "north america": ("north american",), "central america": (),
    "caribbean": (), "oceania": (), "pacific": (), "scandinavia": ("scandinavian", "nordic"),
}

_US_STATES = (
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut", "delaware",
    "florida", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas", "kentucky", "louisiana",
    "maine", "maryland", "massachusetts", "michigan", "minnesota", "mississippi", "missouri",
    "montana", "nebraska", "nevada", "new hampshire", "new jersey", "new mexico", "new york",
    "north carolina", "north dakota", "ohio", "oklahoma", "oregon", "pennsylvania", "rhode island",
    "south carolina", "south dakota", "tennessee", "texas", "utah", "vermont", "virginia",
    "washington", "west virginia", "wisconsin", "wyoming",
)
_PROVINCES = (
    # Canada
    "alberta", "british columbia", "manitoba", "new brunswick", "newfoundland", "nova scotia",
    "ontario", "prince edward island", "quebec", "saskatchewan", "yukon", "nunavut",
    "northwest territories",
    # Australia
    "new south wales", "queensland", "south australia", "tasmania", "victoria", "western australia",
    "northern territory",
)

#: folded place name -> its member (one per place)
PLACES: dict[str, str] = {
    **{name: name for name in (*_US_STATES, *_PROVINCES)},
    **{alias: member for member, aliases in _COUNTRIES.items() for alias in (member, *aliases)},
}


@cache
def _multiword() -> re.Pattern[str]:
    """Names of several words, longest first ("papua new guinea" before "new guinea"); compiled
    on first use, as only titles alike enough to be compared need it."""
    names = sorted((n for n in PLACES if " " in n), key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, names)) + r")(?![a-z0-9])")


def join_places(folded: str) -> str:
    """``folded`` with each place name of several words as one token ("south_africa"), so a
    title's words can be compared as a set and "south africa" / "nigeria" is a swap of one place."""
    return _multiword().sub(lambda m: m.group(1).replace(" ", "_"), folded)


def place_of(token: str) -> str | None:
    """The member a token (a word, or a name joined by :func:`join_places`) names, if a place."""
    return PLACES.get(token.replace("_", " "))
