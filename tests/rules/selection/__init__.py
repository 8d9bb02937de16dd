"""Tests of cds/rules/selection/."""
