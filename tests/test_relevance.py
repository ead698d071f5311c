"""Bilingual topic relevance: both the place and the talent topic, with the title weighing more."""

import json
from pathlib import Path

import pytest

from crawler.relevance import DEFAULT_PROFILE, load_profile, make_profile, score
from store.seeds import read_seeds

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROFILE = load_profile()
SEED = read_seeds()[0]


@pytest.mark.parametrize(
    "lang, title, body, relevant",
    [
        # positives
        ("en", SEED["title"], SEED["body"], True),
        ("en", "Returnees power Zhongguancun's hard-tech push",
         "Returned overseas students founded 42 percent of the park's chip companies.", True),
        ("en", "Haidian pioneer park welcomes 36 start-ups",
         "Start-ups founded by returned overseas students moved into the Zhongguancun "
         "Returned Overseas Students Pioneer Park, where overseas talent gets lab space. "
         "Since 1997 the park has incubated 2,400 companies started by returnees.", True),
        ("zh", "中关村留学人员创业园今年新增入驻企业42家",
         "今年1至4月，中关村各留学人员创业园新增入驻企业42家，其中海归创办的企业占七成。", True),
        ("zh", "“留在中关村”海外学子专场招聘会举办",
         "招聘会吸引了1300余名留学生和海外归国人员参与。", True),
        # near misses: the talent topic elsewhere
        ("en", "Shenzhen's Qianhai woos returnees with start-up subsidies",
         "Qianhai offers returned overseas students grants; returnees from the UK run 900 "
         "companies there, and overseas talent gets a fast track for residence.", False),
        ("zh", "深圳前海：海归创业扶持政策再升级",
         "前海对海归创业者给予最高100万元资助，为海外人才和留学人员提供绿色通道。", False),
        # near misses: the place without the talent topic
        ("en", "Chipmakers showcase AI accelerators at Zhongguancun Forum",
         "Chipmakers unveiled AI accelerators at the Zhongguancun Forum in Beijing's Haidian "
         "district. Zhongguancun companies signed deals with cloud providers.", False),
        ("zh", "2025中关村论坛人工智能芯片分论坛举行",
         "2025中关村论坛人工智能芯片分论坛在中关村国际创新中心举行，海淀区芯片企业发布新品。",
         False),
        # neither
        ("en", "Beijing half marathon draws record field", "A record 20,000 runners ran.", False),
        ("zh", "关于办公地址变更的通知", "因工作需要，政务服务大厅迁至新址办公。", False),
    ],
)
def test_relevance(lang, title, body, relevant):
    result = score(PROFILE, title, body, lang)
    assert result.is_relevant == relevant, (result.score, result.matched)
    assert 0.0 <= result.score <= 1.0
    if not relevant:
        assert result.score < PROFILE.threshold


@pytest.mark.parametrize(
    "text, side, terms",
    [
        ("Returnees and a returnee", "talent", ["returnee"]),  # plural and case
        ("RETURNED OVERSEAS STUDENTS", "talent", ["returned overseas student"]),
        ("overseas talents and overseas-talent parks", "talent", ["overseas talent"]),
        ("ZGC, the Z-Park", "place", ["Zhongguancun", "ZGC", "Z-Park"][1:]),
        ("ZGCX and AZGC and zgc2 are not it", "place", []),  # word boundaries
        ("Zhongguancun's parks", "place", ["Zhongguancun"]),
        ("中关村海外人才创业园", "place", ["中关村"]),  # Chinese substrings, no word boundaries
        ("中关村海外人才创业园", "talent", ["海外人才"]),
        ("中　关　村的留 学 人 员", "place", ["中关村"]),  # full-width and stray spaces
        ("中　关　村的留 学 人 员", "talent", ["留学人员"]),
        ("ＺＧＣ　ｒｅｔｕｒｎｅｅｓ", "place", ["ZGC"]),  # full-width Latin letters
        ("留学归国人员", "talent", ["留学归国"]),  # the longest overlapping term wins
        ("haigui, or sea turtles", "talent", ["haigui", "sea turtle"]),
    ],
)
def test_term_matching(text, side, terms):
    assert score(PROFILE, None, text, None).matched[side] == terms


def test_title_weighs_more_than_a_passing_mention():
    body = ("Zhongguancun chipmakers unveiled accelerators at the Zhongguancun Forum. "
            "Zhongguancun officials said demand keeps climbing.")
    passing = score(PROFILE, "Zhongguancun chip forum opens", body + " Some are returnees.", "en")
    headline = score(PROFILE, "Returnees lead Zhongguancun chip forum", body, "en")
    assert not passing.is_relevant and headline.is_relevant
    assert headline.score > passing.score
    assert passing.matched["title"] == ["Zhongguancun"]
    assert headline.matched["title"] == ["Zhongguancun", "returnee"]


def test_seed_similarity_adds_evidence():
    title, body = "Zhongguancun park opens", "The park welcomes a few returnees."
    plain = score(PROFILE, title, body, "en")
    helped = score(PROFILE, title, body, "en", seed_similarity=0.9)
    assert helped.score > plain.score
    assert score(PROFILE, "Shenzhen", "Nothing on the place.", "en", 0.0).score == 0.0


def test_matched_is_json_and_both_sides_are_needed():
    result = score(PROFILE, "Returnees in Shenzhen", "Returnees everywhere.", "en")
    assert json.loads(json.dumps(result.matched)) == {
        "title": ["returnee"], "place": [], "talent": ["returnee"]}
    assert result.score == 0.0 and not result.is_relevant


def test_empty_input():
    result = score(PROFILE, None, "", None)
    assert (result.score, result.is_relevant) == (0.0, False)


def test_profile_file_and_env_override(tmp_path, monkeypatch):
    assert load_profile().terms == load_profile(DEFAULT_PROFILE).terms
    custom = tmp_path / "topic.toml"
    custom.write_text('threshold = 0.6\n[place]\n"Xiongan" = 1.0\n[talent]\n"海归" = 1.0\n',
                      encoding="utf-8")
    monkeypatch.setenv("ZGCWATCH_TOPIC", str(custom))
    profile = load_profile()
    assert profile.threshold == 0.6 and profile.terms["place"] == {"Xiongan": 1.0}
    assert score(profile, "Xiongan 海归", "Xiongan 海归 Xiongan 海归", "zh").is_relevant
    (tmp_path / "bad.toml").write_text("[place]\n\"x\" = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="talent"):
        load_profile(tmp_path / "bad.toml")


def test_make_profile_folds_terms():
    profile = make_profile({"place": {"ＺＧＣ": 1}, "talent": {"returnee": 1}}, threshold=0.3)
    assert profile.terms["place"] == {"ZGC": 1.0}
    assert score(profile, "ZGC returnees", "", "en").is_relevant


def _fixture_rows():
    rows = []
    for site in ("chinadaily", "zgcgw"):
        expected = FIXTURES / site / "expected.json"
        if not expected.exists():
            continue
        labels = json.loads(expected.read_text(encoding="utf-8"))["articles"]
        for path in sorted((FIXTURES / site / "gold").glob("*.json")):
            gold = json.loads(path.read_text(encoding="utf-8"))
            rows.append(pytest.param(gold, labels[gold["path"]]["relevant"], id=path.stem))
    return rows


@pytest.mark.parametrize("gold, relevant", _fixture_rows())
def test_fixture_stories(gold, relevant):
    """Every fixture story, both sites, both languages, as labelled in expected.json."""
    result = score(PROFILE, gold["title"], gold["body"], gold["lang"])
    assert result.is_relevant == relevant, (result.score, result.matched)


@pytest.mark.parametrize("side", ["place", "talent"])
def test_every_profile_term_is_found_in_any_case_and_plural(side):
    """The quick pre-check (needles) never hides a term the full match would find."""
    for term in PROFILE.terms[side]:
        for written in (term, term.upper(), term.title(), f"{term}s"):
            assert term in score(PROFILE, None, f"Also ({written}).", None).matched[side]
