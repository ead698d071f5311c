"""Scrapy commands of zgcwatch (COMMANDS_MODULE): `crawl` with truthful exit codes."""
