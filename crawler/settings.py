"""Scrapy settings of zgcwatch: polite defaults first; every one can be overridden with -s."""

BOT_NAME = "zgcwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# Our `crawl` command adds exit codes that tell the truth (1: site unreachable, store broken).
COMMANDS_MODULE = "crawler.commands"

# Politeness: identify ourselves, obey robots.txt, one request at a time, back off.
USER_AGENT = "zgcwatch/0.1 (news monitor; +https://github.com/zgcwatch/zgcwatch)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 2  # both targets are single sites; Scrapy's 8 is too many
DOWNLOAD_DELAY = 1
AUTOTHROTTLE_ENABLED = True  # slows down further when the site answers slowly
AUTOTHROTTLE_START_DELAY = 2
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_TIMES = 2  # 5xx and timeouts, each retry delayed by the back-off middleware
ZGCWATCH_RETRY_BACKOFF = 2.0  # seconds before the first retry, doubled for each further one
ZGCWATCH_RETRY_BACKOFF_MAX = 60.0
# A 429/503's Retry-After is obeyed up to this many seconds; a longer one: no retry this run.
ZGCWATCH_RETRY_AFTER_MAX = 120.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024  # an article page is < 1 MB; anything huge is not one
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
# A response yields one story, or a listing's requests (which only enter the scheduler):
# Scrapy starts this many tasks per response, and its 100 cost ~10 % of a crawl's CPU.
CONCURRENT_ITEMS = 4

# Nothing listens: a monitor opens no port (RemoteControl runs Python sent to it).
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

DOWNLOADER_MIDDLEWARES = {"crawler.middlewares.RetryBackoffMiddleware": 560}
ITEM_PIPELINES = {"crawler.pipelines.StorePipeline": 300}
EXTENSIONS = {"crawler.runlog.CrawlRunLog": 0}

FEED_EXPORT_ENCODING = "utf-8"  # -O out.jsonl keeps Chinese readable
LOG_LEVEL = "INFO"

# zgcwatch: where to look, how deep to go, where to store.
ZGCWATCH_DB = None  # None: the ZGCWATCH_DB environment variable, else data/zgcwatch.db
ZGCWATCH_MAX_PAGES = 5  # listing pages per section/column/query; the first run backfills this deep
# Caps that keep a run inside the hour (about 2 s an article at the polite defaults);
# links over a cap are left for the next run. 0: no cap.
ZGCWATCH_MAX_LINKS_PER_PAGE = 100  # new article links taken from one listing page
ZGCWATCH_MAX_NEW_ARTICLES = 200  # new articles requested in one run
ZGCWATCH_CHINADAILY_SECTIONS = [
    "/china/governmentandpolicy",
    "/china/society",
    "/business/tech",
]
ZGCWATCH_CHINADAILY_SEARCH = ["Zhongguancun returnees", "Zhongguancun overseas talent"]
ZGCWATCH_ZGCGW_COLUMNS = [
    "/zgc/yw/gzdt/index.html",
    "/zgc/zwgk/tzgg/index.html",
    "/zgc/english/news/index.html",  # English section (path unverified live)
]
# Processes analysing stories off the reactor thread (extract, score, sign, segment for
# search, compress); 0 = in-line. The store write runs in a thread of the crawl itself.
ZGCWATCH_EXTRACT_WORKERS = 1
# An article stored without title, date or body is fetched again at the next runs, until
# it has been fetched this many times: one broken answer must not lose a story for good.
ZGCWATCH_INCOMPLETE_FETCHES = 3
ZGCWATCH_DEDUP_THRESHOLD = 0.7  # body ratio: copies score 0.91+, other stories <= 0.47
