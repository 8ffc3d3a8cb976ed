"""Names in the synthetic city, from the vocabulary city.yaml declares (`naming`, and each
industry's `words`).

A firm's name is its place, its trade name (字号), its industry's word and its organisational form,
as 企业名称登记管理规定 has it; the authority that registers it (a county's bureau, or the city's
for the high-tech zone) never registers one twice. Trade names are two characters of the declared
set (else three), so no name carries a digit; to keep them unique without seeing the other
chunks of a city, each chunk draws from its own share of the trade names (every `n_chunks`-th),
and within it each authority draws without replacement. A person's name is a surname drawn by its
frequency and one or two given-name characters of the person's gender.
"""

from __future__ import annotations

import numpy as np

from chengxin.config import City, Naming


def _trade_name(k: int, chars: str) -> str:
    """The k-th trade name: the ordered pairs of distinct characters first, then the triples."""
    n = len(chars)
    pairs = n * (n - 1)
    if k < pairs:
        i, j = divmod(k, n - 1)
        return chars[i] + chars[j + (j >= i)]
    k -= pairs
    if k >= n ** 3:
        raise ValueError(f"more firms than {pairs + n ** 3:,} trade names: declare more trade_characters")
    i, rest = divmod(k, n * n)
    j, m = divmod(rest, n)
    return chars[i] + chars[j] + chars[m]


def trade_names(rng: np.random.Generator, authority: np.ndarray, chunk: int, n_chunks: int, naming: Naming) -> np.ndarray:
    """A trade name per firm, none repeated within an authority across the whole city: this
    chunk's share of the trade names, two characters while they last, then three."""
    chars = naming.trade_characters
    n = len(chars)
    pairs, total = n * (n - 1), n * (n - 1) + n ** 3
    out = np.empty(len(authority), dtype=object)
    for who in np.unique(authority):
        rows = np.nonzero(authority == who)[0]
        short = np.arange(chunk, pairs, n_chunks)
        picked = rng.choice(short, min(len(rows), len(short)), replace=False)
        if len(rows) > len(short):  # more firms than this chunk's two-character names: three
            longer = np.arange(pairs + (chunk - pairs) % n_chunks, total, n_chunks)
            picked = np.r_[picked, rng.choice(longer, len(rows) - len(short), replace=False)]
        out[rows] = [_trade_name(int(k), chars) for k in picked]
    return out


def enterprise_names(rng: np.random.Generator, city: City, authority: np.ndarray, county: np.ndarray,
                     industry: np.ndarray, entity_type: np.ndarray, chunk: int, n_chunks: int) -> np.ndarray:
    """Each firm's name: place + trade name + its industry's word + its form. `authority`: the
    division code of the bureau that registers it; `industry`: indices into city.industries."""
    naming = city.naming
    trade = trade_names(rng, authority, chunk, n_chunks, naming)
    counties = {c.code: c.zh for c in city.counties}
    own_place = (authority != city.city_division) & (rng.random(len(authority)) < naming.county_place_share)
    place = np.where(own_place, [counties.get(str(c), "") for c in county], city.name.zh.removesuffix("市"))
    word = [city.industries[i].words[rng.integers(len(city.industries[i].words))] for i in industry]
    form = np.empty(len(authority), dtype=object)
    for kind in np.unique(entity_type):
        rows = np.nonzero(entity_type == kind)[0]
        forms = naming.forms[str(kind)]
        weights = np.array([f.weight for f in forms])
        form[rows] = [forms[k].suffix for k in rng.choice(len(forms), len(rows), p=weights / weights.sum())]
    return np.array([f"{p}{t}{w}{f}" for p, t, w, f in zip(place, trade, word, form)], dtype=object)


def person_names(rng: np.random.Generator, naming: Naming, male: np.ndarray) -> np.ndarray:
    """Each person's name: a surname by its frequency, one or two given-name characters of the
    person's gender."""
    surnames = list(naming.surnames)
    share = np.array(list(naming.surnames.values()))
    n = len(male)
    surname = rng.choice(surnames, n, p=share / share.sum())
    men, women = np.array(list(naming.given["male"])), np.array(list(naming.given["female"]))
    first = np.where(male, rng.choice(men, n), rng.choice(women, n))
    second = np.where(male, rng.choice(men, n), rng.choice(women, n))
    two = rng.random(n) < naming.given_two_share
    return np.array([s + a + (b if t else "") for s, a, b, t in zip(surname, first, second, two)], dtype=object)
