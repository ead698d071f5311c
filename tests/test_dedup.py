"""Near-duplicate detection: normalization, republications, cross-site copies, scale, storage."""

import json
from pathlib import Path

import pytest

from crawler.dedup import DedupIndex, Match, _top_years, body_hash, normalize, similarity
from store import open_store
from store.seeds import read_seeds
from store.signatures import (
    load_bodies,
    load_signatures,
    missing_signatures,
    save_signature,
    save_signatures,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = read_seeds()[0]["body"]  # seeds/*.txt: header lines, a blank line, the body


def _body(*paragraphs):
    return "\n".join(paragraphs)


# The seed republished: reworded lead, "preclinical progress" paragraph dropped, a few edits.
EN_REPUBLISHED = _body(
    "A park in Beijing's Zhongguancun that is dedicated to overseas talent has built a "
    'complete chain of services for innovation and start-ups, creating a distinctive '
    'business environment that draws returnees and encourages them to found companies.',
    'InferVision Technology is an AI company. Led by Chen Kuan, who graduated from the '
    'University of Chicago, the enterprise has launched a COVID-19 intelligent screening '
    'and pandemic monitoring AI system. The product has not only landed in dozens of '
    'hospitals in China, but also hospitals in North America, Europe, Japan and other '
    'countries and regions to help fight the disease.',
    'In November 2020, the National Medical Products Administration formally approved the '
    'pulmonary nodule AI Class III certification of InferVision. It was the first '
    'pulmonary AI Class III certification issued by the NMPA.',
    'So far, InferVision has become the only AI medical company in the world with four '
    'major certifications: China NMPA, EU CE, Japan PMDA and US FDA.',
    'More than 30 percent of the entrepreneurs in Zhongguancun have studied or worked '
    'overseas. Returned entrepreneurs have become the main force of entrepreneurship in '
    'the area.',
    'Since the establishment of the first overseas talent park in 1997, Zhongguancun has '
    'opened 45 such parks with a total incubation area of more than 1.4 million square '
    'meters. These areas have attracted more than 6,000 overseas start-ups, and nearly '
    '1,600 companies have launched in these parks.',
    'Earlier this month, neoX Biotech, a cutting-edge technology company from an overseas '
    'talent park of Zhongguancun Life Science Park, announced the completion of a $30 '
    'million Series A financing. The company drives the research and development of new '
    'drugs with computational design.',
    'In the past six months, neoX Biotech has built a next-generation innovative drug R&D '
    'platform based on the "AI + biophysics + high throughput" trinity, and several '
    'innovative drug R&D pipelines derived from this platform have achieved good results.',
    'Presently, Zhongguancun Overseas Talent Pioneer Park has obtained a total of 20,676 '
    'intellectual property rights and a total of 2,827 scientific and technological '
    'achievement transformation projects.',
    'In 2020 alone, there were 951 projects in the research phase. The total R&D '
    'investment in that year was as high as 2.04 billion yuan ($310.94 million).',
    'On Jan 22, a special online recruitment event attracted more than 20,000 '
    'international students.',
    'This was a special event of the "Remaining in Zhongguancun" campaign held by Jingjin '
    'Electric in an overseas talent park.',
    'During the event, Jingjin Electric conducted a live broadcast to provide a resume '
    'green channel for international students, helping them pass the screening stage.',
    'Prior to this, "Remain in Zhongguancun" online recruitment activities had been held '
    'at well-known Zhongguancun companies such as Glodon, ByteDance and Cambricon, '
    'providing new technical positions for overseas students.',
    'The Zhongguancun Overseas Talent Pioneer Park has organized a range of activities to '
    "recruit and support high-end talents, including roadshows for overseas students' "
    'projects and talent agency stations. The park also strives to create an "overseas" '
    'entrepreneurial environment, effectively shortening the integration process of '
    'overseas talents in Zhongguancun.',
)

EN_SAME_TOPIC = _body(
    'More than 5,000 returning graduates and international students crowded into the '
    'Zhongguancun Overseas Talent Pioneer Park on Saturday for the 2026 "Remain in '
    'Zhongguancun" recruitment fair, the largest since the campaign began.',
    'Over 120 companies working in artificial intelligence, integrated circuits and '
    'biomedicine offered more than 3,000 positions, organizers said. Booths run by Baidu, '
    'Xiaomi and BOE drew long queues from early morning.',
    'The fair was guided by the Zhongguancun Science Park administrative committee and '
    'co-hosted by the Haidian district human resources and social security bureau. '
    'Besides the hiring zone, it set up a policy desk and a career counseling area, and '
    'streamed interviews online for graduates who are still abroad.',
    "Wang Yue, who finished a master's degree in data science at University College "
    'London last year, said she handed in resumes to five companies and got two interview '
    'appointments on the spot. "I have followed the AI industry at home for years, and '
    'the salaries here are now competitive with London," she said.',
    'The founder of a large language model start-up said his company plans to hire 40 '
    'algorithm engineers this year, more than half of them from overseas universities. '
    '"Returnees bring both research experience and an international network, which is '
    'what a young company needs," he said.',
    'Zhongguancun has steadily improved its services for overseas talent in recent years, '
    'introducing measures on entry and exit, household registration and housing. It now '
    'has 50 overseas talent parks and has served more than 30,000 returned students.',
    'An official with the administrative committee said more job fairs will be held in '
    'the coming months to help overseas talent stay and take root in Zhongguancun, '
    'supporting its goal of becoming a world-leading science park.',
)

ZGC_EN = _body(
    'The Zhongguancun Science Park administrative committee on Monday released 12 '
    'measures to attract overseas talent, offering faster visas, housing support and '
    'start-up funding to returnees and foreign experts who choose to work in the park.',
    'Under the measures, high-level overseas talent recommended by Zhongguancun '
    'enterprises can apply for a five-year residence permit within five working days. '
    'Foreign graduates of leading universities may start businesses in the park directly '
    'after graduation.',
    'Returned overseas students who found technology companies in the park can receive up '
    "to 1 million yuan in start-up support, and the park's overseas talent pioneer parks "
    'will provide them with free office space for the first two years.',
    'The measures also set up a one-stop service center in Haidian district, where '
    "returnees can handle household registration, social insurance, children's schooling "
    'and medical services in one place.',
    '"Talent is the most important resource for Zhongguancun to build a world-leading '
    'science park," said an official with the committee. "We want overseas talent to feel '
    'at home here and to have their ideas turned into products quickly."',
    'Zhongguancun is home to more than 50,000 returnees, who have founded over 10,000 '
    'companies. More than 30 percent of the entrepreneurs in the park have studied or '
    'worked abroad.',
    'The committee said it will also support universities and research institutes in the '
    'park in setting up joint laboratories with overseas partners, and will hold the '
    'Zhongguancun International Talent Forum every year.',
    'The measures take effect on July 1 and will be reviewed after three years.',
)

ZGC_EN_CHINADAILY = _body(
    "Beijing's Zhongguancun Science Park has unveiled 12 new measures to attract overseas "
    'talent, offering faster visas, housing support and start-up funding to returnees and '
    'foreign experts who choose to work there, its administrative committee said on '
    'Monday.',
    'Under the measures, high-level overseas talent recommended by Zhongguancun '
    'enterprises can apply for a five-year residence permit within five working days. '
    'Foreign graduates of leading universities may start businesses in the park directly '
    'after graduation.',
    'Returned overseas students who found technology companies in the park can receive up '
    "to 1 million yuan ($138,000) in start-up support, and the park's overseas talent "
    'pioneer parks will provide them with free office space for the first two years.',
    'The measures also set up a one-stop service center in Haidian district, where '
    "returnees can handle household registration, social insurance, children's schooling "
    'and medical services in one place.',
    '"Talent is the most important resource for Zhongguancun to build a world-leading '
    'science park," said an official with the committee. "We want overseas talent to feel '
    'at home here and to have their ideas turned into products quickly."',
    "Zhongguancun, often called China's Silicon Valley, is home to more than 50,000 "
    'returnees, who have founded over 10,000 companies. More than 30 percent of the '
    'entrepreneurs in the park have studied or worked abroad.',
    'The committee said it will also support universities and research institutes in the '
    'park in setting up joint laboratories with overseas partners.',
)

ZH_ORIGINAL = _body(
    '近年来，中关村海外人才创业园积极探索全链条创新创业服务体系，着力营造具有特色的营'
    '商环境，吸引和服务海外留学人员回国创新创业。',
    '推想科技是一家人工智能企业，由毕业于芝加哥大学的陈宽带领团队创办。企业推出的新冠'
    '肺炎智能筛查和疫情监测人工智能系统，不仅已在国内数十家医院落地，还进入北美、欧洲'
    '、日本等国家和地区的医院，助力抗击疫情。',
    '2020年11月，国家药品监督管理局正式批准推想科技肺结节人工智能三类证，这是国'
    '家药监局颁发的首张肺部人工智能三类证。',
    '目前，推想科技已成为全球唯一一家同时获得中国NMPA、欧盟CE、日本PMDA和美'
    '国FDA四大认证的人工智能医疗企业。',
    '据统计，中关村创业者中有超过三成具有海外学习或工作经历，留学归国创业者已成为中关'
    '村创新创业的主力军。',
    '自1997年第一家海外人才创业园成立以来，中关村已累计建成45家留学人员创业园，'
    '孵化面积超过140万平方米，累计吸引海外创业企业6000余家，近1600家企业在'
    '园区内成长壮大。',
    '近日，来自中关村生命科学园海外人才创业园的前沿科技企业新元素生物宣布完成3000'
    '万美元A轮融资。该公司以计算设计驱动创新药物研发。',
    '过去半年，新元素生物搭建了基于“人工智能+生物物理+高通量”三位一体的新一代创新'
    '药研发平台，由该平台衍生的多条创新药研发管线取得良好进展。',
    '随着临床前研究的推进，多个药物将进入临床前候选化合物阶段。',
    '截至目前，中关村海外人才创业园累计拥有知识产权20676项，科技成果转化项目28'
    '27项。',
    '仅2020年，园区在研项目就达951项，全年研发投入高达20.4亿元。',
    '1月22日，一场线上专场招聘活动吸引了两万余名留学生参与。',
    '这是精进电动在海外人才创业园举办的“留在中关村”系列活动专场。',
    '活动期间，精进电动通过直播为留学生开通简历绿色通道，帮助他们顺利通过筛选环节。',
    '此前，“留在中关村”线上招聘活动已在广联达、字节跳动、寒武纪等中关村知名企业举办'
    '，为海外学子提供了新的技术岗位。',
    '中关村海外人才创业园组织开展了海外学子项目路演、人才工作站等一系列引才育才活动，'
    '并努力营造“类海外”创业环境，有效缩短海外人才融入中关村的过程。',
)

ZH_REPUBLISHED = _body(
    '\u3000\u3000中关村海外人才创业园持续完善覆盖创新创业全过程的服务链条，营造独具特色的发展'
    '环境，吸引了大批海外留学人员回国创业。',
    '\u3000\u3000推想科技是一家人工智能企业，由毕业于芝加哥大学的陈宽带领团队创办。企业推出的'
    '新冠肺炎智能筛查和疫情监测人工智能系统，不仅已在国内几十家医院落地，还进入北美、'
    '欧洲、日本等国家和地区的医院，助力抗击疫情。',
    '\u3000\u30002020年11月，国家药品监督管理局正式批准推想科技肺结节人工智能三类证，这'
    '是国家药监局颁发的首张肺部人工智能三类证。',
    '\u3000\u3000目前，推想科技已成为全球唯一一家同时获得中国NMPA、欧盟CE、日本PMDA'
    '和美国FDA四大认证的人工智能医疗企业。',
    '\u3000\u3000据统计，中关村创业者中有超过三成具有海外学习或工作经历，留学归国创业者已成为'
    '中关村创新创业的主力军。',
    '\u3000\u3000自1997年第一家海外人才创业园成立以来，中关村已累计建成45家留学人员创业'
    '园，孵化面积超过140万平方米，累计吸引海外创业企业6000余家，近1600家企'
    '业在园区内成长壮大。',
    '\u3000\u3000日前，来自中关村生命科学园海外人才创业园的前沿科技企业新元素生物宣布完成30'
    '00万美元A轮融资。该公司以计算设计驱动创新药物研发。',
    '\u3000\u3000过去半年，新元素生物搭建了基于“人工智能+生物物理+高通量”三位一体的新一代'
    '创新药研发平台，由该平台衍生的多条创新药研发管线取得良好进展。',
    '\u3000\u3000截至目前，中关村海外人才创业园累计拥有知识产权20676项，科技成果转化项目'
    '2827项。',
    '\u3000\u3000仅2020年，园区在研项目就达951项，全年研发投入高达20.4亿元。',
    '\u3000\u30001月22日，一场线上专场招聘活动吸引了2万多名留学生参与。',
    '\u3000\u3000这是精进电动在海外人才创业园举办的“留在中关村”系列活动专场。',
    '\u3000\u3000活动期间，精进电动通过直播为留学生开通简历绿色通道，帮助他们顺利通过筛选环节'
    '。',
    '\u3000\u3000此前，“留在中关村”线上招聘活动已在广联达、字节跳动、寒武纪等中关村知名企业'
    '举办，为海外学子提供了新的技术岗位。',
    '\u3000\u3000中关村海外人才创业园组织开展了海外学子项目路演、人才工作站等一系列引才育才活'
    '动，并努力营造“类海外”创业环境，有效缩短海外人才融入中关村的过程。',
)

ZH_SAME_TOPIC = _body(
    '3月15日，2026年“留在中关村”海外人才专场招聘会在中关村海外人才创业园举行'
    '，来自人工智能、集成电路、生物医药等领域的120余家企业提供了3000多个岗位，'
    '吸引了近5000名海外留学人员和应届留学生到场求职。',
    '本次招聘会由中关村管委会指导，海淀区人力资源和社会保障局、中关村海外人才创业园联'
    '合主办。现场设置了企业招聘区、政策咨询区和职业指导区，并同步开通线上直播通道，方'
    '便尚在海外的留学生远程投递简历。',
    '记者在现场看到，百度、小米、京东方等企业展位前排起了长队。一家从事大模型研发的初'
    '创企业负责人介绍，公司今年计划招聘算法工程师40名，其中一半以上岗位面向海外高校'
    '毕业生。',
    '“我在英国读完硕士，一直在关注国内的人工智能行业。”来自伦敦大学学院的毕业生王同'
    '学说，“这次一口气投了五家企业，有两家当场约了面试。”',
    '该负责人表示，海归人才既有科研经历，又有国际视野，正是初创企业最需要的。',
    '据介绍，中关村近年来持续优化海外人才服务体系，出台了出入境便利、人才落户、住房保'
    '障等一系列支持措施。目前，中关村已建成海外人才创业园50家，累计服务留学回国人员'
    '超过3万人次。',
    '中关村管委会相关负责人表示，下一步将继续举办系列招聘活动，推动更多海外人才留在中'
    '关村、扎根中关村，为建设世界领先科技园区提供人才支撑。',
)


def _index(*docs, **kwargs):
    """An index holding docs given as (id, lang, body)."""
    index = DedupIndex(**kwargs)
    for article_id, lang, body in docs:
        index.add(article_id, lang, body)
    return index


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hello,  World!\n\tU.S.", "hello world u s"),
        ("ＡＢＣ１２３　ｘｙｚ", "abc123 xyz"),  # full-width letters, digits and space
        ("　　中关村，海外人才。\n　　留创园", "中关村海外人才留创园"),  # no spaces between CJK
        ("中关村 AI 芯片", "中关村ai芯片"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_body_hash_ignores_layout_only():
    assert body_hash("　　中关村，海外人才。") == body_hash("中关村 海外人才")
    assert body_hash("Returnees  thrive.") == body_hash("returnees thrive")
    assert body_hash("Returnees thrive.") != body_hash("Returnees arrive.")


@pytest.mark.parametrize(
    "name, lang, original, candidate, is_duplicate",
    [
        ("en republication: new lead, dropped paragraph, edits", "en", SEED, EN_REPUBLISHED,
         True),
        ("en the seed itself found on the site", "en", SEED, SEED.replace("\n", "\n\n"), True),
        ("en cross-site copy, zgcgw English to China Daily", "en", ZGC_EN, ZGC_EN_CHINADAILY,
         True),
        ("en same kind of event, a 2026 fair after the seed's", "en", SEED, EN_SAME_TOPIC,
         False),
        ("en same topic, different story", "en", ZGC_EN, EN_SAME_TOPIC, False),
        ("zh republication: new lead, dropped paragraph, edits", "zh", ZH_ORIGINAL,
         ZH_REPUBLISHED, True),
        ("zh same kind of event, a 2026 fair", "zh", ZH_ORIGINAL, ZH_SAME_TOPIC, False),
    ],
)
def test_duplicates(name, lang, original, candidate, is_duplicate):
    index = _index((1, lang, original))
    match = index.find(lang, candidate)
    assert (match is not None) == is_duplicate, (name, similarity(original, candidate))
    if is_duplicate:
        assert match.article_id == 1 and match.similarity >= index.threshold


@pytest.mark.parametrize(
    "original, copy, low, high",
    [
        (SEED, EN_REPUBLISHED, 0.9, 1.0),
        (ZGC_EN, ZGC_EN_CHINADAILY, 0.85, 1.0),
        (ZH_ORIGINAL, ZH_REPUBLISHED, 0.9, 1.0),
        (SEED, EN_SAME_TOPIC, 0.0, 0.5),  # English shares letters: unrelated text is ~0.45
        (ZH_ORIGINAL, ZH_SAME_TOPIC, 0.0, 0.25),
    ],
)
def test_similarity_margins(original, copy, low, high):
    """The default threshold (0.7) sits well between duplicates and same-topic stories."""
    assert low <= similarity(original, copy) <= high


def test_languages_are_separate():
    index = _index((1, "en", SEED))
    assert index.find("zh", SEED) is None
    assert index.find("en", SEED) == Match(1, 1.0)


def test_best_match_and_exclude():
    index = _index((1, "en", EN_SAME_TOPIC), (2, "en", EN_REPUBLISHED), (3, "en", SEED))
    assert index.find("en", SEED).article_id == 3
    assert index.find("en", SEED, exclude={3}).article_id == 2
    assert index.find("en", SEED, exclude=[2, 3]) is None


def test_remove_and_readd():
    index = _index((1, "en", SEED), (2, "zh", ZH_ORIGINAL))
    index.remove(1)
    index.remove(99)  # unknown ids are ignored
    assert index.find("en", EN_REPUBLISHED) is None and len(index) == 1
    index.add(1, "en", SEED)
    index.add(1, "en", SEED)  # adding again replaces, never doubles
    assert index.find("en", EN_REPUBLISHED).article_id == 1 and len(index) == 2


@pytest.mark.parametrize("body", ["", "   ", "。，！", None])
def test_empty_bodies(body):
    index = _index((1, "en", SEED))
    index.add(2, "en", body)
    assert 2 not in index
    assert index.find("en", body) is None
    assert index.signature(body) == b""


def test_short_bodies_still_match():
    short = "Zhongguancun opens a service center for returnees."
    index = _index((1, "en", short))
    assert index.find("en", short + " ").article_id == 1
    assert index.find("en", "Shenzhen opens a tax office for exporters.") is None


def test_new_edition_of_a_template_is_not_a_duplicate():
    """Near-identical text whose most-mentioned year moved on: next year's notice."""
    notice = ("关于开展{y}年度中关村留学人员创业园认定工作的通知。"
              "各有关单位：为做好{y}年度认定工作，现将有关事项通知如下："
              "申报时间为{y}年3月1日至{y}年4月30日，请按要求提交材料。")
    index = _index((1, "zh", notice.format(y=2024)))
    assert similarity(notice.format(y=2024), notice.format(y=2025)) >= 0.9
    assert index.find("zh", notice.format(y=2025)) is None
    assert index.find("zh", notice.format(y=2024) + "特此通知。").article_id == 1
    assert DedupIndex(year_guard=False).threshold == 0.7


def test_fetch_bodies_is_asked_only_for_a_few_candidates():
    bodies = {1: SEED, 2: EN_SAME_TOPIC, 3: ZGC_EN}
    asked = []

    def fetch(ids):
        asked.append(list(ids))
        return {i: bodies[i] for i in ids}

    index = DedupIndex(fetch_bodies=fetch)
    for article_id, body in bodies.items():
        index.add(article_id, "en", body)
    assert index._bodies == {}  # with a fetcher the index keeps no bodies
    assert index.find("en", EN_REPUBLISHED) == Match(1, pytest.approx(0.94, abs=0.02))
    assert asked == [[1]]  # the same-topic stories never reached the full-text check
    assert index.find("en", "An unrelated story about the weather in Harbin.") is None
    assert len(asked) == 1


def test_signatures_round_trip_and_warm_a_new_index():
    index = DedupIndex()
    sig = index.signature(SEED)
    assert isinstance(sig, bytes) and len(sig) == 776
    assert sig == DedupIndex().signature(SEED.replace("\n", "\n\n"))  # stable, layout-blind
    fresh = DedupIndex(fetch_bodies=lambda ids: {i: SEED for i in ids})
    stale = fresh.load([(7, "en", sig), (8, "en", b"old format"), (9, "en", sig[:-2])])
    assert stale == [8, 9]
    assert fresh.find("en", EN_REPUBLISHED).article_id == 7
    other = DedupIndex(shingle=5)  # signatures of other parameters are stale, not misread
    assert other.load([(7, "en", sig)]) == [7]
    other.add(7, "en", SEED, signature=sig)  # add() falls back to the body
    assert other.find("en", EN_REPUBLISHED).article_id == 7


def test_signatures_persist_in_the_store(tmp_path):
    db = open_store(tmp_path / "z.db", now="2026-11-28T06:00:00+00:00")
    seed_id = db.execute("SELECT id FROM articles WHERE source = 'seed'").fetchone()[0]
    assert [row[0] for row in missing_signatures(db)] == [seed_id]
    index = DedupIndex()
    save_signature(db, seed_id, "en", index.signature(SEED))
    assert list(missing_signatures(db)) == []
    assert load_bodies(db, [seed_id, 999]) == {seed_id: SEED}

    warm = DedupIndex(fetch_bodies=lambda ids: load_bodies(db, ids))
    assert warm.load(load_signatures(db)) == []
    assert warm.find("en", EN_REPUBLISHED) == Match(seed_id, pytest.approx(0.94, abs=0.02))
    save_signatures(db, [(seed_id, "en", b"")])  # an empty signature removes the row
    assert list(load_signatures(db)) == []
    assert list(load_signatures(db, originals_only=True)) == []


def test_many_articles_stay_cheap():
    """Thousands of same-language stories: each check verifies at most max_verify bodies."""
    words = SEED.split()
    docs = []
    for i in range(1, 3001):  # deterministic shuffles of the seed's own words: same topic
        step = 7 + 2 * (i % 50)
        docs.append((i, "en", " ".join(words[(j * step + i) % len(words)] for j in range(400))))
    calls = []

    def fetch(ids):
        calls.append(len(ids))
        return {i: docs[i - 1][2] for i in ids}

    index = DedupIndex(fetch_bodies=fetch)
    index.load((i, lang, index.signature(body)) for i, lang, body in docs)
    assert len(index) == 3000
    assert index.find("en", docs[1233][2] + " Updated.").article_id == 1234
    assert index.find("en", SEED) is None
    assert all(n <= index.max_verify for n in calls)


def _gold(site):
    folder = FIXTURES / site / "gold"
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


@pytest.mark.skipif(not (FIXTURES / "zgcgw" / "gold").is_dir(), reason="fixtures not built")
def test_fixture_stories_only_known_duplicates():
    """Every fixture story against all others: each copy finds its own story, no one else."""
    stories = {"seed": ("en", SEED)}
    cluster = {"seed": {"seed"}}
    for site in ("chinadaily", "zgcgw"):
        labels = json.loads((FIXTURES / site / "expected.json").read_text())["articles"]
        for gold in _gold(site):
            key = f"{site}:{gold['path']}"
            stories[key] = (gold["lang"], gold["body"])
            cluster.setdefault(key, {key})
            original = labels[gold["path"]]["duplicate_of"]
            if original:
                original = original if ":" in original or original == "seed" \
                    else f"{site}:{original}"
                merged = cluster.setdefault(original, {original}) | cluster[key]
                for member in merged:
                    cluster[member] = merged
    keys = list(stories)
    index = DedupIndex()
    for i, (lang, body) in enumerate(stories.values()):
        index.add(i, lang, body)
    copies = 0
    for i, (key, (lang, body)) in enumerate(stories.items()):
        match = index.find(lang, body, exclude={i})
        if len(cluster[key]) == 1:
            assert match is None, (key, match and keys[match.article_id])
        else:
            copies += 1
            assert match and keys[match.article_id] in cluster[key], key
    assert copies == 7  # seed + its page + republication; two cross-site; two zh


def test_an_excerpt_is_judged_by_the_years_it_names_not_its_most_named_one():
    """A story's first half may dwell on an earlier year than the whole: still its excerpt."""
    story = _body(
        "In 2019 the park opened its first floor to start-ups founded by returnees, and in "
        "2019 it signed 30 companies, most of them working on chips and sensors for cars.",
        "The park's managers said 2019 was a year of learning: leases were short, rents "
        "were low and the founders shared a single testing room on the ground floor.",
        "By 2024 the park had grown to six buildings. In 2024 it housed 210 companies, and "
        "in 2024 their combined revenue passed 9 billion yuan, according to the park.",
        "Managers expect 2024 to be remembered as the year the park turned a profit, and "
        "plan a second site in the north of the district for companies making equipment.",
        "Founders in 2024 asked for more laboratory space, longer leases and help with "
        "hiring engineers who have worked abroad, the managers said on Tuesday.")
    half = "Shared from the park's newsletter.\n" + story[: len(story) // 2]
    assert _top_years(normalize(half)) == {"2019"} and _top_years(normalize(story)) == {"2024"}
    index = _index((1, "en", story))
    assert index.find("en", half) == Match(1, pytest.approx(0.95, abs=0.05))
    next_year = half.replace("2019", "2025")  # names a year the story never does
    assert index.find("en", next_year) is None
