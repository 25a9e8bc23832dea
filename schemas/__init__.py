"""Versioned record schemas of claimwire's output tables (see records.py and docs/schema.md)."""
from schemas.records import (ARTICLES, CLAIMS, ENTITY, ERROR_KINDS, ERRORS, FEED_STATE, STORIES, STORY_CLAIMS,
                             STORY_INDEX, TABLES, Table, error_record, stable_id, to_table, utcnow)

__all__ = ["ARTICLES", "CLAIMS", "ENTITY", "ERROR_KINDS", "ERRORS", "FEED_STATE", "STORIES", "STORY_CLAIMS",
           "STORY_INDEX", "TABLES", "Table", "error_record", "stable_id", "to_table", "utcnow"]
