"""The spiders: one per monitored source, named as the source."""
