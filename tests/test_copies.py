"""Copies as republishers make them: excerpts, added intros, a new headline that ties it."""

import pytest

from crawler.analysis import analyze
from crawler.pipelines import ArticleProcessor
from store import open_store

CD = "https://www.chinadaily.com.cn/a"

# A story written for these tests: it never names the talent side and Zhongguancun together.
STORY = [
    "Haidian district opened a materials testing hall on Monday, with equipment worth "
    "120 million yuan shared by 40 laboratories and start-ups in the area.",
    "The hall runs electron microscopes, X-ray diffraction and thermal analysis around the "
    "clock, and companies book time slots through an online platform.",
    "Officials said the shared equipment would cut the cost of testing by about a third "
    "for young companies, which often cannot afford their own instruments.",
    "A second hall focused on biological samples is planned for next year, near the "
    "subway line that links the district's universities.",
    "Many of the founders who use the hall once worked at laboratories in Germany, Japan "
    "and the United States before coming home.",
    "The district plans to publish the hall's booking data every quarter, so that "
    "researchers can see which instruments are most in demand and plan purchases.",
]


def page(title, date, paragraphs):
    """A China Daily-shaped article page."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<html><head><title>{title}</title><meta name="publishdate" content="{date}">'
            f'</head><body><div class="main_art"><div class="lft_art" id="lft-art">'
            f'<h1>{title}</h1><div class="info"><span class="info_l">By Li Hua | China Daily'
            f' | Updated: {date} 08:00</span></div><div id="Content">{body}</div></div>'
            f'</div></body></html>').encode()


@pytest.fixture
def processor(tmp_path, empty_store):
    path = tmp_path / "z.db"
    path.write_bytes(empty_store.read_bytes())
    return ArticleProcessor(open_store(path), threshold=0.7)


def store(processor, slug, title, date, paragraphs):
    url = f"{CD}/{date[:7].replace('-', '')}/{date[8:]}/WS{slug}.html"
    html = page(title, date, paragraphs)
    story, _ = processor.store(url, "chinadaily", analyze([(url, html)], "chinadaily"),
                               [(url, "utf-8", html)])
    return story


def stories(processor):
    return [row[0] for row in processor.db.execute("SELECT title FROM stories ORDER BY id")]


def test_an_excerpt_of_half_the_story_is_linked_to_it(processor):
    original = store(processor, "1", "Testing hall opens for start-ups", "2024-03-04", STORY)
    excerpt = store(processor, "2", "Shared lab equipment cuts costs", "2024-03-05",
                    ["Read the full story on China Daily."] + STORY[:3])
    assert excerpt.duplicate_of == original.id and excerpt.similarity >= 0.9
    lead = store(processor, "3", "Haidian testing hall", "2024-03-06", STORY[:1])
    assert lead.duplicate_of is None  # one paragraph is too short to call it a copy


def test_the_story_under_an_added_intro_is_linked(processor):
    original = store(processor, "1", "Testing hall opens for start-ups", "2024-03-04", STORY)
    intro = ("Editor's note: the following report on shared research equipment first ran "
             "in a Beijing newspaper, and we carry it in full for our readers abroad.")
    copy = store(processor, "2", "Shared lab for young firms", "2024-03-08", [intro, *STORY])
    assert copy.duplicate_of == original.id


def test_a_different_story_on_the_same_topic_stays_apart(processor):
    store(processor, "1", "Testing hall opens for start-ups", "2024-03-04", STORY)
    other = store(processor, "2", "Second testing hall planned", "2024-09-01", [
        "Haidian district will open a second shared testing hall next year, focused on "
        "biological samples, officials said on Sunday.",
        "The first hall, opened in March, has been booked for 9,000 hours by 60 companies "
        "and laboratories, most of them start-ups founded in the past five years.",
        "The new hall will run sequencers and mass spectrometers and will sit near the "
        "subway line linking the district's universities.",
        "Young companies pay a third of the market price for each booked hour."])
    assert other.duplicate_of is None


def test_a_republication_that_ties_the_topic_keeps_its_original_in_stories(processor):
    """The copy's new headline names both sides: the story is kept once, as the original."""
    original = store(processor, "1", "Testing hall opens for start-ups", "2024-03-04", STORY)
    assert not original.is_relevant and stories(processor) == []
    copy = store(processor, "2", "Zhongguancun testing hall serves returnee founders",
                 "2024-03-05", STORY)
    assert copy.is_relevant and copy.duplicate_of == original.id
    assert stories(processor) == ["Testing hall opens for start-ups"]
    evidence = processor.db.execute("SELECT evidence FROM articles WHERE id = ?",
                                    [original.id]).fetchone()[0]
    assert evidence == "Zhongguancun testing hall serves returnee founders"


def test_an_earlier_original_arriving_late_takes_over_its_copy_relevance(processor):
    copy = store(processor, "2", "Zhongguancun testing hall serves returnee founders",
                 "2024-03-05", STORY)
    assert stories(processor) == [copy.title]
    original = store(processor, "1", "Testing hall opens for start-ups", "2024-03-04", STORY)
    assert original.replaces == copy.id
    assert stories(processor) == ["Testing hall opens for start-ups"]
