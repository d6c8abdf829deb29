"""The pure half of clustering: report features, similarities and average linkage (hand-made cases)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from signalfire.intake.similarity import (
    AUTHOR_BONUS,
    Features,
    Report,
    TermStats,
    average_linkage,
    canonical_url,
    features,
    known_match,
    outlet_of,
    similarities,
    slug_words,
    url_date,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.Example.com/News/Story-One/?utm_source=x#top", "example.com/news/story-one"),
        ("http://example.com", "example.com"),
        ("not a url", None),
        ("", None),
        (None, None),
    ],
)
def test_canonical_url(url: str | None, expected: str | None) -> None:
    assert canonical_url(url) == expected


def test_outlet_and_slug_words() -> None:
    url = "https://www.theverge.com/2023/5/27/23739913/chatgpt-ai-lawsuit-avianca-airlines-fake-cases.html"
    assert outlet_of(url) == "theverge.com"
    # Digits, short pieces and section words are dropped; the headline slug is kept.
    assert slug_words(url) == "chatgpt lawsuit avianca airlines fake cases"


def _sims(reports: list[Report]) -> np.ndarray:
    feats = [features(r) for r in reports]
    stats = TermStats()
    stats.add(feats)
    return similarities(feats, stats).combined


def test_same_story_scores_above_unrelated_one() -> None:
    s = _sims(
        [
            Report("Lawyer used ChatGPT to cite fake court cases in Avianca lawsuit"),
            Report("Avianca lawsuit: lawyer apologises for fake ChatGPT citations"),
            Report("Self-driving taxi blocks ambulance in San Francisco"),
        ]
    )
    assert s[0, 1] > 0.2
    assert s[0, 2] < 0.05 and s[1, 2] < 0.05


def test_identical_canonical_url_is_the_same_report_whatever_the_titles() -> None:
    s = _sims(
        [
            Report("Headline A", url="https://www.site.org/a/story?ref=rss"),
            Report("Totally different words", url="https://site.org/a/story/"),
        ]
    )
    assert s[0, 1] == pytest.approx(1.0)


def test_shared_author_counts_only_at_the_same_outlet() -> None:
    base = [
        Report("Alpha beta", url="https://one.example/x1", authors=("Jo Writer",)),
        Report("Gamma delta", url="https://one.example/x2", authors=("jo writer",)),
        Report("Gamma delta", url="https://two.example/x3", authors=("Jo Writer",)),
    ]
    s = _sims(base)
    without = _sims([Report(r.title, url=r.url) for r in base])
    assert s[0, 1] - without[0, 1] == pytest.approx(AUTHOR_BONUS)
    assert s[0, 2] == pytest.approx(without[0, 2])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.theverge.com/2023/5/27/23739913/chatgpt-lawsuit.html", date(2023, 5, 27)),
        ("https://www.nytimes.com/2019/03/07/technology/story.html", date(2019, 3, 7)),
        ("https://site.example/blog/2021/11/some-story/", date(2021, 11, 15)),  # month only: mid-month
        ("https://site.example/news/2022-08-09-a-story", date(2022, 8, 9)),
        ("https://www.theguardian.com/technology/2016/sep/26/google-car", date(2016, 9, 26)),
        ("https://site.example/2016/september/a-story", date(2016, 9, 15)),
        ("https://site.example/2016/maybe/a-story", None),  # not a month's name
        ("https://www.afr.com/technology/deepfakes-20230523-p5daih", date(2023, 5, 23)),
        ("https://site.example/story-123420230523", None),  # digits of a longer number
        ("https://site.example/20200131/story", date(2020, 1, 31)),
        ("https://site.example/2023/02/30/story", None),  # no such day
        ("https://site.example/2023/13/story", None),
        ("https://site.example/story-2023", None),
        ("https://site.example/id/123456789/story", None),
        ("https://site.example", None),
        (None, None),
    ],
)
def test_url_date(url: str | None, expected: date | None) -> None:
    assert url_date(url) == expected


def test_publication_days_nudge_pairs_together_within_a_month_and_apart_after_years() -> None:
    titles = ["Chatbot gives wrong refund policy", "Airline chatbot invented a refund policy"]
    days = [
        (date(2024, 2, 14), date(2024, 3, 1)),  # 16 days apart
        (date(2024, 2, 14), date(2020, 2, 13)),  # four years apart
        (date(2024, 2, 14), date(2023, 2, 14)),  # one year: neither near nor far
        (None, date(2024, 2, 15)),  # no day on one side
    ]
    dated = [Report(t, published=d) for pair in days for t, d in zip(titles, pair, strict=True)]
    undated = [Report(r.title) for r in dated]
    s, plain = _sims(dated), _sims(undated)  # days change no term statistics: only the nudge differs
    assert s[0, 1] - plain[0, 1] == pytest.approx(0.10)
    assert s[2, 3] - plain[2, 3] == pytest.approx(-0.05)
    assert s[4, 5] == pytest.approx(plain[4, 5])
    assert s[6, 7] == pytest.approx(plain[6, 7])
    feats = [features(r) for r in dated[:4]]
    reasons = similarities(feats, _stats(feats))
    assert "published within a month" in reasons.reason(0, 1)
    assert "published years apart" in reasons.reason(2, 3)


def test_a_report_without_its_own_day_takes_its_urls() -> None:
    url = "https://www.nytimes.com/2019/03/07/technology/story.html"
    assert features(Report("T", url=url)).day == date(2019, 3, 7).toordinal()
    assert features(Report("T", url=url, published=date(2019, 3, 6))).day == date(2019, 3, 6).toordinal()
    assert features(Report("T", url="https://site.example/story")).day is None


def _stats(feats: list[Features]) -> TermStats:
    stats = TermStats()
    stats.add(feats)
    return stats


def test_term_stats_round_trip() -> None:
    stats = TermStats()
    stats.add([features(Report("A chatbot insulted a customer"))])
    again = TermStats.from_bytes(stats.docs, stats.to_bytes())
    assert again.docs == 1 and np.array_equal(again.df, stats.df)
    assert again.word_df("chatbot") == 1 and again.word_df("absent") == 0


def _bridged() -> np.ndarray:
    """Stories {0,1} and {2,3}; item 4 shares one generic phrase with 1 and with 2 (0.9 each)."""
    s = np.eye(5)
    for i, j, v in [(0, 1, 0.8), (2, 3, 0.8), (1, 4, 0.9), (2, 4, 0.9)]:
        s[i, j] = s[j, i] = v
    return s


def test_average_linkage_does_not_chain_two_stories_through_one_generic_item() -> None:
    labels = average_linkage(_bridged(), 0.5)
    # Single linkage at 0.5 puts all five in one group. Average linkage (worked by hand): 4 joins 1
    # (distance 0.1); then {1,4} to 2 is mean(1.0, 0.1) = 0.55 and to 0 is mean(0.2, 1.0) = 0.6,
    # both above 0.5, so it stops: {0}, {1,4}, {2,3}.
    groups = {frozenset(i for i, lab in enumerate(labels) if lab == x) for x in labels}
    assert groups == {frozenset({0}), frozenset({1, 4}), frozenset({2, 3})}


def test_seeded_groups_stay_together_and_frozen_ones_do_not_join() -> None:
    s = np.eye(4)
    s[0, 2] = s[2, 0] = 0.9
    s[1, 3] = s[3, 1] = 0.9
    s[2, 3] = s[3, 2] = 0.95
    # 2 and 3 are members of two stored clusters (seeds 0 and 1); 0 and 1 are new. The stored
    # clusters are near each other (0.95): automatic ones join (the last merge, of 1, is at mean
    # distance (1 + 1 + 0.1) / 3 = 0.7 <= 0.75), a curated (frozen) one does not.
    free = average_linkage(s, 0.25, seeds=[None, None, 0, 1])
    assert len(set(free)) == 1
    frozen = average_linkage(s, 0.25, seeds=[None, None, 0, 1], frozen=frozenset({0}))
    assert frozen[0] == frozen[2] and frozen[1] == frozen[3] and frozen[2] != frozen[3]
    # A seeded group is never broken up, even if its members are unlike each other.
    apart = average_linkage(np.eye(3), 0.5, seeds=[0, 0, None])
    assert apart[0] == apart[1] != apart[2]


def test_known_match_blends_the_closest_member_and_the_cluster_profile() -> None:
    # Item 0 is the new signal; items 1-2 are one stored cluster (group 7), item 3 another (group 9).
    gram = np.array(
        [
            [1.0, 0.6, 0.2, 0.5],
            [0.6, 1.0, 0.1, 0.0],
            [0.2, 0.1, 1.0, 0.0],
            [0.5, 0.0, 0.0, 1.0],
        ]
    )
    groups = np.array([7, 7, 9])
    # Closest member: item 1 (0.6). Centroid cosine of group 7: (0.6 + 0.2) / sqrt(1 + 0.1 + 0.1 + 1)
    # = 0.8 / sqrt(2.2) = 0.539360; score 0.3 x 0.6 + 0.7 x 0.539360 = 0.557552.
    assert known_match(gram, 0, groups, 1) == pytest.approx((0.557552, 0), abs=1e-6)
    # A one-member cluster: its profile is that member, so the score is the similarity itself.
    gram[0, 3] = gram[3, 0] = 0.7
    assert known_match(gram, 0, groups, 1) == pytest.approx((0.7, 2))
    assert known_match(gram[:1, :1], 0, np.array([], dtype=np.int64), 1) is None


def test_known_match_ranks_the_same_incident_above_a_lookalike_of_one_headline() -> None:
    """A new incident of a familiar kind copies the wording of one stored headline; a later report of
    the stored incident shares less with that headline but more with the cluster as a whole. Scored on
    the closest members alone (closest + 0.3 x second, the earlier rule) the lookalike came first."""
    stored = [
        "Fraudsters use deepfake video of bank CEO Maria Lund to promote crypto scam on YouTube",
        "Nordbank warns customers about fake Maria Lund livestream promising bitcoin returns",
        "Nordbank chief Maria Lund impersonated in AI-generated investment video",
        "Police in Oslo investigate fake Nordbank giveaway that used its CEO's cloned face",
        "Hospital triage algorithm sent sicker patients home, audit finds",
        "Audit: Riverside hospital's triage software underestimated sepsis risk",
        "Riverside hospital pauses AI triage tool after sepsis deaths",
    ]
    groups = np.array([0, 0, 0, 0, 1, 1, 1])
    lookalike = "Deepfake video of footballer Tom Berg used to promote crypto scam on YouTube"
    same = "Nordbank CEO Maria Lund deepfake used in bitcoin investment scam"

    def score(query: str) -> float:
        items = [features(Report(t)) for t in [query, *stored]]
        stats = TermStats()
        stats.add(items)
        match = known_match(similarities(items, stats).char, 0, groups, 1)
        assert match is not None and groups[match[1]] == 0
        return match[0]

    assert score(same) > score(lookalike)
