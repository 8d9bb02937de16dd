"""Tests of cds/record/."""
