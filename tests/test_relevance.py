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


FILLER = [  # sentences on neither side, to push mentions apart
    "The company makes sensors for delivery robots.",
    "Its revenue doubled last year, according to the firm.",
    "Investors include two state-backed funds.",
    "The new factory will open in the spring.",
    "Engineers are testing a lighter battery pack.",
    "Orders from hospitals have grown quickly.",
]


def test_one_mention_each_in_one_sentence_is_kept():
    """A short story naming each side once, together: what real stories do."""
    body = ("Chen Jie, who studied abroad for eight years, opened a lab in Zhongguancun in "
            "March. " + " ".join(FILLER[:3]))
    result = score(PROFILE, "Robot start-up opens lab", body, "en")
    assert result.is_relevant and not result.review, result
    assert result.evidence.startswith("Chen Jie, who studied abroad")
    assert result.matched == {"title": [], "place": ["Zhongguancun"],
                              "talent": ["studied abroad"]}


def test_one_mention_each_a_sentence_apart_is_kept():
    body = " ".join([FILLER[0], "The firm sits in Zhongguancun.", FILLER[1],
                     "Its founders are returnees from Canada.", *FILLER[2:]])
    result = score(PROFILE, "Sensor maker expands", body, "en")
    assert result.is_relevant, result
    assert result.evidence == ("The firm sits in Zhongguancun. … "
                               "Its founders are returnees from Canada.")


def test_headline_with_both_sides_is_kept_and_is_the_evidence():
    result = score(PROFILE, "中关村留学人员创业园新增企业", "今年新增入驻企业42家。", "zh")
    assert result.is_relevant and result.evidence == "中关村留学人员创业园新增企业"


def test_headline_side_and_lead_mention_are_kept():
    result = score(PROFILE, "Returnees find a home for their start-ups",
                   "A new incubator in Zhongguancun opened its doors on Monday. " + FILLER[0],
                   "en")
    assert result.is_relevant, result


def test_far_apart_in_a_long_text_goes_to_review():
    """Both sides named once, ten sentences apart: a person should judge it."""
    body = " ".join(["Zhongguancun hosted a battery fair on Friday.", *FILLER, *FILLER[:4],
                     "One exhibitor was a returnee."])
    result = score(PROFILE, "Battery fair draws crowds", body, "en")
    assert not result.is_relevant and result.review, result
    assert PROFILE.review_floor <= result.score < PROFILE.threshold
    assert result.evidence == ("Zhongguancun hosted a battery fair on Friday. … "
                               "One exhibitor was a returnee.")


def test_a_headline_side_with_a_late_passing_mention_goes_to_review():
    body = " ".join([*FILLER, *FILLER, "Some of the visitors were returnees."])
    result = score(PROFILE, "Zhongguancun chip forum opens", body, "en")
    assert result.review and not result.is_relevant, result
    headline = score(PROFILE, "Returnees lead Zhongguancun chip forum", " ".join(FILLER), "en")
    assert headline.is_relevant and headline.score > result.score
    assert headline.matched["title"] == ["Zhongguancun", "returnee"]


def test_one_mention_tied_to_many_counts_once():
    """Three place mentions next to one talent mention are one piece of evidence."""
    once = score(PROFILE, None, "In Haidian, one returnee spoke.", "en")
    many = score(PROFILE, None, "In Haidian, Haidian and Haidian, one returnee spoke.", "en")
    assert once.score == many.score
    two = score(PROFILE, None, "In Haidian, one returnee spoke. In Haidian, a returnee sang.",
                "en")
    assert two.score > once.score


@pytest.mark.parametrize("title, body", [
    ("中關村海歸創業者突破三萬人", "據統計，園區內留學歸國人員創辦的企業逾萬家。"),
    ("人才潮涌", "身處中關(guān)村，歸(guī)國創業的學子越來越多。"),  # pinyin glosses
])
def test_traditional_characters_match_as_simplified(title, body):
    result = score(PROFILE, title, body, "zh")
    assert result.is_relevant, result
    assert "中关村" in result.matched["place"]
    assert "中關" in result.evidence  # shown as the page wrote it


@pytest.mark.parametrize("kind, title, body", [
    ("zgc-no-talent", "Zhongguancun Forum opens with AI focus",
     "Chipmakers and cloud firms showed new products at the Zhongguancun Forum. "
     "Officials said top talent and capital keep flowing to the district's AI companies."),
    ("zgc-no-talent", "中关村电子卖场客流回升",
     "中关村电子卖场周末客流回升，商户表示手机和电脑配件销售较好。"),
    ("talent-elsewhere", "E-Town courts overseas high-level talents",
     "Beijing E-Town offers housing and grants to returnees and overseas high-level talents "
     "starting robot companies in Yizhuang."),
    ("talent-elsewhere", "杭州海创园新增海归企业",
     "杭州未来科技城海创园今年新增海归创办企业120家，留学人员创业热情高涨。"),
    ("talent-elsewhere", "Beijing measures for returned overseas talents",
     "The city will give returned overseas students hukou and start-up grants. "
     "Applicants apply through district talent offices."),
    ("unrelated", "Sea turtles return to Hainan beach", "Volunteers counted 300 nests."),
    ("unrelated", "关于办公地址变更的通知", "因工作需要，政务服务大厅迁至新址办公。"),
    ("name-only", "Beijing welcomes overseas talent",
     "Overseas talent will get faster visas, said the chief engineer of the Zhongguancun "
     "National Laboratory."),
])
def test_hard_negatives_are_not_kept(kind, title, body):
    result = score(PROFILE, title, body, "zh" if "\u4e00" <= title[0] else "en")
    assert not result.is_relevant, (kind, result)


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
