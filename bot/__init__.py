"""studybot: a study bot that prepares engineering teams for LLM interviews."""

__version__ = "0.1.0"
