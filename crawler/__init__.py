"""The Scrapy project of zgcwatch: spiders, items, pipeline and the pure stages."""
