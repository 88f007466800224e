"""How near a holding library is to a reader's home library — from the library hierarchy
in config.yaml (region = city, county), never from geolocation.

The question behind 通借通还 is "where is the nearest copy I can get": on my own library's
shelf, then in another library of my county, of my city, then anywhere in the province
(inter-library loan).  Every view that orders holdings for a reader uses these tiers.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.config import Library

HOME = 0  # the reader's own library
COUNTY = 1  # another library of the same county (县/区/县级市)
CITY = 2  # another library of the same city (地级市)
PROVINCE = 3  # anywhere else in the consortium
UNKNOWN = 4  # a library no longer in config

TIERS = (HOME, COUNTY, CITY, PROVINCE, UNKNOWN)


def tier(home: Library | None, code: str, libraries: Mapping[str, Library]) -> int:
    """The tier of library `code` for a reader of `home` (PROVINCE for everyone when the
    reader named no home library: there is no "near" without one)."""
    lib = libraries.get(code)
    if lib is None:
        return UNKNOWN
    if home is None:
        return PROVINCE
    if lib.code == home.code:
        return HOME
    if home.county and lib.county == home.county and lib.region == home.region:
        return COUNTY
    if lib.region == home.region:
        return CITY
    return PROVINCE


__all__ = ["CITY", "COUNTY", "HOME", "PROVINCE", "TIERS", "UNKNOWN", "tier"]
